package pipeline

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/store"
)

// CheckRules compiles files and checks the client, category and engineer
// codes they name literally against st's reference data (rules.CheckCodes):
// a misspelt code is refused like a rule that does not compile, with its
// file, line and column. A kind of which the database holds no row yet (a
// new installation before its first import) is not checked; unchecked
// lists those kinds.
func CheckRules(ctx context.Context, st *store.Store, files []rules.File) (set *rules.Set, unchecked []string, err error) {
	set, err = rules.Load(files)
	if err != nil {
		return nil, nil, err
	}
	clients, categories, engineers, err := st.ReferenceCodes(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reading reference codes: %w", err)
	}
	known := rules.Codes{}
	for kind, codes := range map[string][]string{rules.CodeClient: clients, rules.CodeCategory: categories, rules.CodeEngineer: engineers} {
		if len(codes) == 0 {
			unchecked = append(unchecked, kind)
			continue
		}
		known[kind] = codes
	}
	slices.Sort(unchecked)
	if err := set.CheckCodes(known); err != nil {
		return nil, unchecked, err
	}
	return set, unchecked, nil
}

// StoredRules checks rule sets against a store's reference data and
// applies them as new versions there: the rule service of the HTTP API and
// the rule editor.
type StoredRules struct{ Store *store.Store }

// Check compiles files and checks their codes (CheckRules).
func (r StoredRules) Check(ctx context.Context, files map[string][]byte) error {
	_, _, err := CheckRules(ctx, r.Store, FilesOf(files))
	return err
}

// Apply checks files and stores them as a new version by whom, with why.
func (r StoredRules) Apply(ctx context.Context, files map[string][]byte, by, comment string) (int64, error) {
	v, _, err := SaveRulesWithComment(ctx, r.Store, FilesOf(files), by, comment)
	return v, err
}

// FilesOf turns named contents into rule files in name order (the order
// they load in).
func FilesOf(m map[string][]byte) []rules.File {
	names := slices.Sorted(maps.Keys(m))
	out := make([]rules.File, len(names))
	for i, n := range names {
		out[i] = rules.File{Name: n, Data: m[n]}
	}
	return out
}
