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

// LoadRuntime reads the directory and the rule set in force.
func LoadRuntime(ctx context.Context, st *store.Store, fallback []rules.File) (*Runtime, error) {
	dd, err := st.LoadDirectory(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading reference data: %w", err)
	}
	dir, err := routing.NewDirectory(dd.Clients, dd.Objects, dd.Engineers, dd.Contacts, dd.Categories)
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
	set, err := RulesFromStore(ctx, st, fallback)
	if err != nil {
		return nil, err
	}
	return &Runtime{Directory: dir, DirVersion: dd.Version, Rules: set, RulesVersion: set.Version, Categories: cats}, nil
}

// Watch keeps p's runtime current: it listens for the notifications that an
// import or a rules apply sends, and polls the versions every interval in
// case a notification was missed. A rule set that fails to compile is
// logged and the set in force stays in force.
func Watch(ctx context.Context, st *store.Store, p *Processor, fallback []rules.File, interval time.Duration, log *slog.Logger) error {
	notified := make(chan struct{}, 1)
	go listen(ctx, st, notified, log)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-notified:
		}
		if err := refresh(ctx, st, p, fallback, log); err != nil && ctx.Err() == nil {
			log.Error("reloading rules and reference data", "error", err)
		}
	}
}

func refresh(ctx context.Context, st *store.Store, p *Processor, fallback []rules.File, log *slog.Logger) error {
	cur := p.Runtime()
	dv, err := st.DirectoryVersion(ctx)
	if err != nil {
		return err
	}
	rv, err := st.RuleSetVersion(ctx)
	if err != nil {
		return err
	}
	if dv == cur.DirVersion && rv == cur.RulesVersion {
		return nil
	}
	next := *cur
	if rv != cur.RulesVersion {
		set, err := RulesFromStore(ctx, st, fallback)
		if err != nil {
			return fmt.Errorf("rule set version %d refused, version %d stays active: %w", rv, cur.RulesVersion, err)
		}
		next.Rules, next.RulesVersion = set, set.Version
		log.Info("rule set switched", "version", set.Version)
	}
	if dv != cur.DirVersion {
		rt, err := LoadRuntime(ctx, st, fallback)
		if err != nil {
			return err
		}
		next.Directory, next.DirVersion, next.Categories = rt.Directory, rt.DirVersion, rt.Categories
		log.Info("reference data reloaded", "version", rt.DirVersion)
	}
	p.Swap(&next)
	return nil
}

func listen(ctx context.Context, st *store.Store, notified chan<- struct{}, log *slog.Logger) {
	for ctx.Err() == nil {
		err := func() error {
			conn, err := st.Pool.Acquire(ctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			for _, ch := range []string{"intake_rules", "intake_directory"} {
				if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
					return err
				}
			}
			for {
				if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
					return err
				}
				select {
				case notified <- struct{}{}:
				default:
				}
			}
		}()
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
