package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/learn"
	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/reference"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules"
)

const formatsUsage = `usage:
  intake formats learn --client CODE [--name NAME] [--out FILE] [--labels L] [--reference DIR] SAMPLE.eml...
  intake formats learn --client CODE --check LABELS [--k 5] [--labels LABELS] [--reference DIR] DIR`

// cmdFormats: intake formats learn.
func cmdFormats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "learn" {
		fmt.Fprintln(stderr, formatsUsage)
		return errors.New("unknown formats command")
	}
	var cf commonFlags
	fs := newFlagSet("formats learn", stderr, &cf)
	client := fs.String("client", "", "the chain's client code (clients.csv)")
	name := fs.String("name", "", "the format's name (default: <client>-learned)")
	out := fs.String("out", "", "write the proposal to this file instead of standard output")
	labelsPath := fs.String("labels", "", "labels.jsonl of the samples: learn from what they should become")
	refDir := fs.String("reference", "", "read reference CSVs (clients, objects, categories...) from this folder instead of the database")
	check := fs.String("check", "", "labels.jsonl of DIR: learn from the first --k mails of DIR and score the rest")
	k := fs.Int("k", 5, "with --check: how many mails to learn from")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *client == "" || fs.NArg() == 0 {
		fmt.Fprintln(stderr, formatsUsage)
		return errors.New("--client and samples are required")
	}
	cfg, err := loadConfig(cf.config, getenv)
	if err != nil {
		return err
	}
	ref, err := learnReference(ctx, cfg, *refDir, *client)
	if err != nil {
		return err
	}
	var labels map[string]learn.Label
	if *labelsPath != "" {
		if labels, err = readLearnLabels(*labelsPath); err != nil {
			return err
		}
	}
	if *check != "" {
		return learnCheck(stdout, ref, cfg.Intake.Location, *check, labels, *k, *name, fs.Arg(0))
	}
	samples, err := readSamples(fs.Args())
	if err != nil {
		return err
	}
	p, err := learn.Propose(samples, ref, learn.Options{Name: *name, Labels: labels})
	if err != nil {
		return err
	}
	y, err := p.YAML()
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(y)
		return err
	}
	if err := os.WriteFile(*out, y, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "formats learn: %s written from %d samples; check it with `intake rules check %s`\n", *out, len(samples), *out)
	for _, u := range p.Unsure {
		fmt.Fprintln(stdout, "  check:", u)
	}
	return nil
}

// learnCheck learns from the first k mails of dir and scores the rest,
// reading dates without a zone in the format's zone, else in loc
// (intake.timezone), as the pipeline does.
func learnCheck(stdout io.Writer, ref learn.Reference, loc *time.Location, checkLabels string, learnLabels map[string]learn.Label, k int, name, dir string) error {
	all, err := readLearnLabels(checkLabels)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var paths []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".eml") {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(paths)
	if len(paths) <= k {
		return fmt.Errorf("%s: %d mails; --check needs more than --k %d", dir, len(paths), k)
	}
	samples, err := readSamples(paths)
	if err != nil {
		return err
	}
	p, err := learn.Propose(samples[:k], ref, learn.Options{Name: name, Labels: learnLabels})
	if err != nil {
		return err
	}
	y, err := p.YAML()
	if err != nil {
		return err
	}
	set, err := rules.Load([]rules.File{{Name: "learned.yaml", Data: y}})
	if err != nil {
		return fmt.Errorf("the proposal does not load: %w\n%s", err, y)
	}
	score := map[string]bool{}
	for _, s := range samples[k:] {
		score[s.Name] = true
	}
	rep := learn.Evaluate(set, samples, all, ref, loc, score)
	fmt.Fprintf(stdout, "learned %s from %d mails, scored on %d:\n", p.Spec.Name, k, len(samples)-k)
	rep.WriteText(stdout, 50)
	return nil
}

func readSamples(paths []string) ([]learn.Sample, error) {
	var out []learn.Sample
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		d, err := parsers.Normalize(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, learn.Sample{Name: filepath.Base(p), Doc: d})
	}
	return out, nil
}

func readLearnLabels(path string) (map[string]learn.Label, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ls, err := demo.ParseLabels(path, f)
	if err != nil {
		return nil, err
	}
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	out := map[string]learn.Label{}
	for _, l := range ls {
		out[l.File] = learn.Label{ExternalID: s(l.ExternalID), Object: s(l.Object), Category: s(l.Category), Priority: s(l.Priority), Due: s(l.Due)}
	}
	return out, nil
}

// learnReference reads the reference data from CSVs in dir, else from the
// configured database.
func learnReference(ctx context.Context, cfg Config, dir, client string) (learn.Reference, error) {
	var (
		clients    []routing.Client
		objects    []routing.Object
		engineers  []routing.Engineer
		contacts   []routing.Contact
		categories []routing.Category
	)
	if dir != "" {
		for _, kind := range reference.Kinds() {
			path := filepath.Join(dir, kind+".csv")
			f, err := os.Open(path)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return learn.Reference{}, err
			}
			sh, err := reference.Parse(kind, filepath.Base(path), f)
			f.Close()
			if err != nil {
				return learn.Reference{}, err
			}
			switch rows := sh.Rows.(type) {
			case []routing.Client:
				clients = rows
			case []routing.Object:
				objects = rows
			case []routing.Engineer:
				engineers = rows
			case []routing.Contact:
				contacts = rows
			case []routing.Category:
				categories = rows
			}
		}
	} else {
		st, err := openStore(ctx, cfg)
		if err != nil {
			return learn.Reference{}, err
		}
		defer st.Close()
		dd, err := st.LoadDirectory(ctx)
		if err != nil {
			return learn.Reference{}, err
		}
		clients, objects, engineers, contacts, categories = dd.Clients, dd.Objects, dd.Engineers, dd.Contacts, dd.Categories
	}
	dir2, err := routing.NewDirectory(clients, objects, engineers, contacts, categories)
	if err != nil {
		return learn.Reference{}, fmt.Errorf("indexing reference data: %w", err)
	}
	c := dir2.Client(client)
	if c == nil {
		return learn.Reference{}, fmt.Errorf("client %q: %w", client, learn.ErrNoClient)
	}
	return learn.Reference{Client: *c, Directory: dir2, Categories: categories}, nil
}
