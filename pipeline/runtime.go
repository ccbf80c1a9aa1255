package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/store"
)

// RulesFromStore compiles the stored rule set in force; when none is stored
// it returns fallback (the shipped defaults) with version 0.
func RulesFromStore(ctx context.Context, st *store.Store, fallback []rules.File) (*rules.Set, error) {
	rs, err := st.LatestRuleSet(ctx)
	if errors.Is(err, store.ErrNotFound) {
		set, err := rules.Load(fallback)
		if err != nil {
			return nil, fmt.Errorf("shipped rules: %w", err)
		}
		return set, nil
	}
	if err != nil {
		return nil, err
	}
	files := make([]rules.File, len(rs.Sources))
	for i, s := range rs.Sources {
		files[i] = rules.File{Name: s.Name, Data: []byte(s.Data)}
	}
	set, err := rules.Load(files)
	if err != nil {
		return nil, fmt.Errorf("stored rule set version %d: %w", rs.Version, err)
	}
	set.Version = rs.Version
	return set, nil
}

// SaveRules compiles files and stores them as a new version of the rule
// set, the version in force from then on; a set with any error (CheckRules:
// one that does not compile or names an unknown code) is refused whole. created is false when the latest version holds the same rules
// (it stays in force).
func SaveRules(ctx context.Context, st *store.Store, files []rules.File, by string) (version int64, created bool, err error) {
	return SaveRulesWithComment(ctx, st, files, by, "")
}

// SaveRulesWithComment is SaveRules recording why the version is applied.
func SaveRulesWithComment(ctx context.Context, st *store.Store, files []rules.File, by, comment string) (version int64, created bool, err error) {
	set, _, err := CheckRules(ctx, st, files)
	if err != nil {
		return 0, false, err
	}
	src := make([]store.RuleSource, len(files))
	for i, f := range files {
		src[i] = store.RuleSource{Name: f.Name, Data: string(f.Data)}
	}
	return st.SaveRuleSetWithComment(ctx, set.Hash(), src, by, comment)
}

// LoadRuntime reads the directory and the rule set in force.
func LoadRuntime(ctx context.Context, st *store.Store, fallback []rules.File) (*Runtime, error) {
	rt, err := loadDirectory(ctx, st)
	if err != nil {
		return nil, err
	}
	set, err := RulesFromStore(ctx, st, fallback)
	if err != nil {
		return nil, err
	}
	rt.Rules, rt.RulesVersion = set, set.Version
	return rt, nil
}

// loadDirectory reads the reference data: a runtime without rules.
func loadDirectory(ctx context.Context, st *store.Store) (*Runtime, error) {
	dd, err := st.LoadDirectory(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading reference data: %w", err)
	}
	dir, err := routing.NewDirectory(dd.Clients, dd.Objects, dd.Engineers, dd.Contacts, dd.Categories)
	if err == nil {
		dir, err = dir.WithEquipment(dd.Equipment)
	}
	if err != nil {
		return nil, fmt.Errorf("indexing reference data: %w", err)
	}
	kw := make([]parsers.CategoryKeywords, 0, len(dd.Categories))
	for _, c := range dd.Categories {
		kw = append(kw, parsers.CategoryKeywords{Code: c.Code, Keywords: c.Keywords})
	}
	cats, err := parsers.CompileCategories(kw)
	if err != nil {
		return nil, fmt.Errorf("category keywords: %w", err)
	}
	return &Runtime{Directory: dir, DirVersion: dd.Version, Categories: cats}, nil
}

// Watch keeps p's runtime current: it listens for the notifications that an
// import or a rules apply sends, and polls the versions every interval in
// case a notification was missed. A rule set that fails to compile is
// logged once and the set in force stays in force; reference data are
// reloaded all the same.
func Watch(ctx context.Context, st *store.Store, p *Processor, fallback []rules.File, interval time.Duration, log *slog.Logger) error {
	notified := make(chan struct{}, 1)
	listening := make(chan struct{})
	go func() {
		defer close(listening)
		listen(ctx, st, notified, log)
	}()
	defer func() { <-listening }()
	w := &watcher{st: st, p: p, fallback: fallback, log: log}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-notified:
		}
		if err := w.refresh(ctx); err != nil && ctx.Err() == nil {
			log.Error("reloading rules and reference data", "error", err)
		}
	}
}

type watcher struct {
	st       *store.Store
	p        *Processor
	fallback []rules.File
	log      *slog.Logger
	// refused is the stored rule set version that did not compile: it is
	// not compiled again at every poll.
	refused int64
}

func (w *watcher) refresh(ctx context.Context) error {
	cur := w.p.Runtime()
	dv, err := w.st.DirectoryVersion(ctx)
	if err != nil {
		return err
	}
	rv, err := w.st.RuleSetVersion(ctx)
	if err != nil {
		return err
	}
	next := *cur
	changed := false
	var errs []error
	if rv != cur.RulesVersion && rv != w.refused {
		set, err := RulesFromStore(ctx, w.st, w.fallback)
		var le *rules.LoadError
		switch {
		case errors.As(err, &le):
			w.refused = rv
			errs = append(errs, fmt.Errorf("rule set version %d refused, version %d stays active: %w", rv, cur.RulesVersion, err))
		case err != nil:
			errs = append(errs, err)
		default:
			next.Rules, next.RulesVersion = set, set.Version
			changed = true
			w.log.Info("rule set switched", "version", set.Version)
		}
	}
	if dv != cur.DirVersion {
		rt, err := loadDirectory(ctx, w.st)
		if err != nil {
			errs = append(errs, err)
		} else {
			next.Directory, next.DirVersion, next.Categories = rt.Directory, rt.DirVersion, rt.Categories
			changed = true
			w.log.Info("reference data reloaded", "version", rt.DirVersion)
		}
	}
	if changed {
		w.p.Swap(&next)
	}
	return errors.Join(errs...)
}

func listen(ctx context.Context, st *store.Store, notified chan<- struct{}, log *slog.Logger) {
	for ctx.Err() == nil {
		// Listen signals once it is listening too: what changed before
		// (since the runtime was loaded, or while the connection was lost)
		// sent its notification to nobody, so look now rather than at the
		// next poll.
		err := st.Listen(ctx, []string{"intake_rules", "intake_directory"}, func() {
			select {
			case notified <- struct{}{}:
			default:
			}
		})
		if ctx.Err() != nil {
			return
		}
		log.Warn("listening for rule and reference changes", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}
