package store

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// RuleSource is one stored rule or format file.
type RuleSource struct {
	Name string `json:"name"`
	Data string `json:"data"`
}

// RuleSet is one applied version of the rule and format files.
type RuleSet struct {
	Version   int64        `json:"version"`
	Hash      string       `json:"hash"`
	Sources   []RuleSource `json:"sources"`
	AppliedBy string       `json:"applied_by"`
	AppliedAt time.Time    `json:"applied_at"`
	// Comment is why the version was applied, as its author wrote it.
	Comment string `json:"comment"`
}

// SaveRuleSet stores a new version (unless the latest has the same hash) and
// notifies running replicas. It returns the version in force.
func (s *Store) SaveRuleSet(ctx context.Context, hash string, sources []RuleSource, by string) (version int64, created bool, err error) {
	return s.SaveRuleSetWithComment(ctx, hash, sources, by, "")
}

// SaveRuleSetWithComment is SaveRuleSet recording why the version is
// applied.
func (s *Store) SaveRuleSetWithComment(ctx context.Context, hash string, sources []RuleSource, by, comment string) (version int64, created bool, err error) {
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE rule_sets IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		var latestHash string
		err := tx.QueryRow(ctx, `SELECT version, hash FROM rule_sets ORDER BY version DESC LIMIT 1`).Scan(&version, &latestHash)
		if err == nil && latestHash == hash {
			return nil
		}
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		data, err := json.Marshal(sources)
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO rule_sets (hash, sources, applied_by, comment) VALUES ($1, $2, $3, $4) RETURNING version`,
			hash, data, by, comment).Scan(&version); err != nil {
			return err
		}
		created = true
		// pgx does not encode an int64 as a text parameter: pass the text.
		_, err = tx.Exec(ctx, `SELECT pg_notify('intake_rules', $1)`, strconv.FormatInt(version, 10))
		return err
	})
	return version, created, err
}

// LatestRuleSet returns the rule set in force, or ErrNotFound.
func (s *Store) LatestRuleSet(ctx context.Context) (*RuleSet, error) {
	return s.ruleSet(ctx, `SELECT version, hash, sources, applied_by, applied_at, comment FROM rule_sets ORDER BY version DESC LIMIT 1`)
}

// RuleSetAt returns version v of the rule set, or ErrNotFound.
func (s *Store) RuleSetAt(ctx context.Context, v int64) (*RuleSet, error) {
	return s.ruleSet(ctx, `SELECT version, hash, sources, applied_by, applied_at, comment FROM rule_sets WHERE version = $1`, v)
}

func (s *Store) ruleSet(ctx context.Context, sql string, args ...any) (*RuleSet, error) {
	var rs RuleSet
	var data []byte
	err := s.Pool.QueryRow(ctx, sql, args...).Scan(&rs.Version, &rs.Hash, &data, &rs.AppliedBy, &rs.AppliedAt, &rs.Comment)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &rs, json.Unmarshal(data, &rs.Sources)
}

// RuleSetVersions lists the stored versions, newest first, without their
// files.
func (s *Store) RuleSetVersions(ctx context.Context) ([]RuleSet, error) {
	rows, err := s.Pool.Query(ctx, `SELECT version, hash, applied_by, applied_at, comment FROM rule_sets ORDER BY version DESC`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (RuleSet, error) {
		var rs RuleSet
		err := r.Scan(&rs.Version, &rs.Hash, &rs.AppliedBy, &rs.AppliedAt, &rs.Comment)
		return rs, err
	})
}

// RuleSetVersion returns the latest version number, 0 when there is none.
func (s *Store) RuleSetVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.Pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM rule_sets`).Scan(&v)
	return v, err
}

// ReferenceCodes are the codes of the clients, categories and engineers,
// for checking the codes a rule set names.
func (s *Store) ReferenceCodes(ctx context.Context) (clients, categories, engineers []string, err error) {
	q := func(sql string) ([]string, error) {
		rows, err := s.Pool.Query(ctx, sql)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if clients, err = q(`SELECT code FROM clients ORDER BY code`); err != nil {
		return nil, nil, nil, err
	}
	if categories, err = q(`SELECT code FROM categories ORDER BY code`); err != nil {
		return nil, nil, nil, err
	}
	engineers, err = q(`SELECT code FROM engineers ORDER BY code`)
	return clients, categories, engineers, err
}
