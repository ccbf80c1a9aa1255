package store

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/reference"
	"github.com/intakehq/intake/routing"
)

// DirectoryChannel is the NOTIFY channel an import that changed reference
// data signals on, with the new directory version as payload, so that running
// pipelines reload their directory.
const DirectoryChannel = "intake_directory"

// ImportSummary says what one import did. Rows = Inserted + Updated + Unchanged.
type ImportSummary struct {
	Kind      string
	File      string
	Rows      int
	Inserted  int
	Updated   int
	Unchanged int
	Version   int64 // directory version after the import
}

// referenceSQL holds, per kind, the statements that load a validated file:
// rows are copied into a temporary table (with their line numbers, to name
// the line of an unknown reference), checked against the referenced tables,
// then upserted by natural key. A row equal to the stored one is not written,
// so re-importing a file changes nothing, not even updated_at.
//
// The upsert returns how many rows it inserted and updated: xmax is 0 on a
// freshly inserted row version and set on one written by ON CONFLICT DO UPDATE.
var referenceSQL = map[string]struct {
	temp   string
	upsert string
	refs   []refCheck
}{
	reference.KindClients: {
		temp: `CREATE TEMP TABLE import_clients (
			line integer NOT NULL, code text NOT NULL, name text NOT NULL,
			legal_entities text[] NOT NULL, domains text[] NOT NULL) ON COMMIT DROP`,
		upsert: `WITH up AS (
			INSERT INTO clients AS t (code, name, legal_entities, domains)
			SELECT code, name, legal_entities, domains FROM import_clients ORDER BY code
			ON CONFLICT (code) DO UPDATE
			SET name = excluded.name, legal_entities = excluded.legal_entities, domains = excluded.domains, updated_at = now()
			WHERE (t.name, t.legal_entities, t.domains) IS DISTINCT FROM (excluded.name, excluded.legal_entities, excluded.domains)
			RETURNING t.xmax = 0 AS inserted)
			SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up`,
	},
	reference.KindEngineers: {
		temp: `CREATE TEMP TABLE import_engineers (
			line integer NOT NULL, code text NOT NULL, name text NOT NULL, email text NOT NULL, phone text NOT NULL,
			competences text[] NOT NULL, areas text[] NOT NULL, lat double precision, lon double precision,
			radius_km double precision NOT NULL, max_open integer NOT NULL, status text NOT NULL,
			rating double precision NOT NULL) ON COMMIT DROP`,
		upsert: `WITH up AS (
			INSERT INTO engineers AS t (code, name, email, phone, competences, areas, lat, lon, radius_km, max_open, status, rating)
			SELECT code, name, email, phone, competences, areas, lat, lon, radius_km, max_open, status, rating
			FROM import_engineers ORDER BY code
			ON CONFLICT (code) DO UPDATE
			SET name = excluded.name, email = excluded.email, phone = excluded.phone,
				competences = excluded.competences, areas = excluded.areas, lat = excluded.lat, lon = excluded.lon,
				radius_km = excluded.radius_km, max_open = excluded.max_open, status = excluded.status,
				rating = excluded.rating, updated_at = now()
			WHERE (t.name, t.email, t.phone, t.competences, t.areas, t.lat, t.lon, t.radius_km, t.max_open, t.status, t.rating)
				IS DISTINCT FROM (excluded.name, excluded.email, excluded.phone, excluded.competences, excluded.areas,
				excluded.lat, excluded.lon, excluded.radius_km, excluded.max_open, excluded.status, excluded.rating)
			RETURNING t.xmax = 0 AS inserted)
			SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up`,
	},
	reference.KindObjects: {
		temp: `CREATE TEMP TABLE import_objects (
			line integer NOT NULL, client text NOT NULL, code text NOT NULL, name text NOT NULL, address text NOT NULL,
			city text NOT NULL, region text NOT NULL, oktmo text NOT NULL, lat double precision, lon double precision,
			legal_entity text NOT NULL, engineer text NOT NULL) ON COMMIT DROP`,
		upsert: `WITH up AS (
			INSERT INTO objects AS t (client, code, name, address, city, region, oktmo, lat, lon, legal_entity, engineer)
			SELECT client, code, name, address, city, region, oktmo, lat, lon, legal_entity, nullif(engineer, '')
			FROM import_objects ORDER BY client, code
			ON CONFLICT (client, code) DO UPDATE
			SET name = excluded.name, address = excluded.address, city = excluded.city, region = excluded.region,
				oktmo = excluded.oktmo, lat = excluded.lat, lon = excluded.lon, legal_entity = excluded.legal_entity,
				engineer = excluded.engineer, updated_at = now()
			WHERE (t.name, t.address, t.city, t.region, t.oktmo, t.lat, t.lon, t.legal_entity, t.engineer)
				IS DISTINCT FROM (excluded.name, excluded.address, excluded.city, excluded.region, excluded.oktmo,
				excluded.lat, excluded.lon, excluded.legal_entity, excluded.engineer)
			RETURNING t.xmax = 0 AS inserted)
			SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up`,
		refs: []refCheck{
			{column: "client", query: `SELECT s.line, s.client, '' FROM import_objects s
				WHERE NOT EXISTS (SELECT FROM clients c WHERE c.code = s.client)
				ORDER BY s.line LIMIT $1`, msg: unknownClient},
			{column: "engineer", query: `SELECT s.line, s.engineer, '' FROM import_objects s
				WHERE s.engineer <> '' AND NOT EXISTS (SELECT FROM engineers e WHERE e.code = s.engineer)
				ORDER BY s.line LIMIT $1`, msg: func(code, _ string) string { return fmt.Sprintf("unknown engineer %q", code) }},
		},
	},
	reference.KindContacts: {
		temp: `CREATE TEMP TABLE import_contacts (
			line integer NOT NULL, client text NOT NULL, object text NOT NULL, name text NOT NULL,
			role text NOT NULL, email text NOT NULL, phone text NOT NULL) ON COMMIT DROP`,
		upsert: `WITH up AS (
			INSERT INTO contacts AS t (client, object, name, role, email, phone)
			SELECT client, object, name, role, email, phone FROM import_contacts ORDER BY client, object, email
			ON CONFLICT (client, object, email) DO UPDATE
			SET name = excluded.name, role = excluded.role, phone = excluded.phone, updated_at = now()
			WHERE (t.name, t.role, t.phone) IS DISTINCT FROM (excluded.name, excluded.role, excluded.phone)
			RETURNING t.xmax = 0 AS inserted)
			SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up`,
		refs: []refCheck{
			{column: "client", query: `SELECT s.line, s.client, '' FROM import_contacts s
				WHERE NOT EXISTS (SELECT FROM clients c WHERE c.code = s.client)
				ORDER BY s.line LIMIT $1`, msg: unknownClient},
			{column: "object", query: `SELECT s.line, s.object, s.client FROM import_contacts s
				WHERE s.object <> ''
				AND EXISTS (SELECT FROM clients c WHERE c.code = s.client)
				AND NOT EXISTS (SELECT FROM objects o WHERE o.client = s.client AND o.code = s.object)
				ORDER BY s.line LIMIT $1`, msg: func(object, client string) string {
				return fmt.Sprintf("unknown object %q of client %q", object, client)
			}},
		},
	},
	reference.KindCategories: {
		temp: `CREATE TEMP TABLE import_categories (
			line integer NOT NULL, code text NOT NULL, name text NOT NULL, competence text NOT NULL,
			sla_hours double precision NOT NULL, keywords text NOT NULL) ON COMMIT DROP`,
		upsert: `WITH up AS (
			INSERT INTO categories AS t (code, name, competence, sla_hours, keywords)
			SELECT code, name, competence, sla_hours, keywords FROM import_categories ORDER BY code
			ON CONFLICT (code) DO UPDATE
			SET name = excluded.name, competence = excluded.competence, sla_hours = excluded.sla_hours,
				keywords = excluded.keywords, updated_at = now()
			WHERE (t.name, t.competence, t.sla_hours, t.keywords)
				IS DISTINCT FROM (excluded.name, excluded.competence, excluded.sla_hours, excluded.keywords)
			RETURNING t.xmax = 0 AS inserted)
			SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up`,
	},
	reference.KindEquipment: {
		temp: `CREATE TEMP TABLE import_equipment (
			line integer NOT NULL, client text NOT NULL, object text NOT NULL, serial text NOT NULL,
			model text NOT NULL, kind text NOT NULL, installed text NOT NULL, warranty_until text NOT NULL) ON COMMIT DROP`,
		upsert: `WITH up AS (
			INSERT INTO equipment AS t (client, object, serial, model, kind, installed, warranty_until)
			SELECT client, object, serial, model, kind, nullif(installed, '')::date, nullif(warranty_until, '')::date
			FROM import_equipment ORDER BY client, serial
			ON CONFLICT (client, serial) DO UPDATE
			SET object = excluded.object, model = excluded.model, kind = excluded.kind, installed = excluded.installed,
				warranty_until = excluded.warranty_until, updated_at = now()
			WHERE (t.object, t.model, t.kind, t.installed, t.warranty_until)
				IS DISTINCT FROM (excluded.object, excluded.model, excluded.kind, excluded.installed, excluded.warranty_until)
			RETURNING t.xmax = 0 AS inserted)
			SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up`,
		refs: []refCheck{
			{column: "client", query: `SELECT s.line, s.client, '' FROM import_equipment s
				WHERE NOT EXISTS (SELECT FROM clients c WHERE c.code = s.client)
				ORDER BY s.line LIMIT $1`, msg: unknownClient},
			{column: "object", query: `SELECT s.line, s.object, s.client FROM import_equipment s
				WHERE EXISTS (SELECT FROM clients c WHERE c.code = s.client)
				AND NOT EXISTS (SELECT FROM objects o WHERE o.client = s.client AND o.code = s.object)
				ORDER BY s.line LIMIT $1`, msg: func(object, client string) string {
				return fmt.Sprintf("unknown object %q of client %q", object, client)
			}},
			{column: "kind", query: `SELECT s.line, s.kind, '' FROM import_equipment s
				WHERE NOT EXISTS (SELECT FROM categories c WHERE c.code = s.kind)
				ORDER BY s.line LIMIT $1`, msg: func(kind, _ string) string {
				return fmt.Sprintf("unknown category %q (kind is a category code)", kind)
			}},
			{column: "serial", query: `SELECT s.line, s.serial, t.object FROM import_equipment s
				JOIN equipment t ON t.client = s.client AND t.serial <> s.serial
				AND upper(translate(t.serial, ' -/._', '')) = upper(translate(s.serial, ' -/._', ''))
				ORDER BY s.line LIMIT $1`, msg: func(serial, object string) string {
				return fmt.Sprintf("%q is already registered, written differently (at store %q)", serial, object)
			}},
		},
	},
}

// refCheck finds rows naming a row that does not exist. Its query takes a
// limit and returns the line and two values for msg.
type refCheck struct {
	column string
	query  string
	msg    func(a, b string) string
}

func unknownClient(code, _ string) string { return fmt.Sprintf("unknown client %q", code) }

// Import validates a whole reference file of the given kind (see
// reference.Parse) and upserts its rows by natural key in one transaction.
// Rows are never deleted: a row missing from the file stays. Rows naming an
// unknown client, engineer or object refuse the whole file with a
// *reference.FileError; nothing is imported from a refused file. When any
// row changed, the directory version is bumped and DirectoryChannel notified
// in the same transaction.
//
// progress, when not nil, is called as rows are loaded.
func (s *Store) Import(ctx context.Context, kind, name string, r io.Reader, progress func(done, total int)) (ImportSummary, error) {
	sh, err := reference.Parse(kind, name, r)
	if err != nil {
		return ImportSummary{Kind: kind, File: name}, err
	}
	var sum ImportSummary
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		if sum, err = upsertSheet(ctx, tx, sh, progress); err != nil {
			return err
		}
		sum.Version, err = bumpDirectory(ctx, tx, sum.Inserted+sum.Updated > 0)
		return err
	})
	if err != nil {
		return ImportSummary{Kind: kind, File: name, Rows: len(sh.Lines)}, err
	}
	return sum, nil
}

func upsertSheet(ctx context.Context, tx pgx.Tx, sh *reference.Sheet, progress func(done, total int)) (ImportSummary, error) {
	kind := sh.Kind
	q := referenceSQL[kind]
	sum := ImportSummary{Kind: kind, File: sh.File, Rows: len(sh.Lines)}
	if _, err := tx.Exec(ctx, q.temp); err != nil {
		return sum, fmt.Errorf("importing %s: creating staging table: %w", sh.File, err)
	}
	src := &sheetSource{sh: sh, progress: progress, i: -1}
	if progress != nil {
		progress(0, len(sh.Lines))
	}
	columns := append([]string{"line"}, sh.Columns...)
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_" + kind}, columns, src); err != nil {
		return sum, fmt.Errorf("importing %s: copying rows: %w", sh.File, err)
	}
	if err := checkRefs(ctx, tx, sh, q.refs); err != nil {
		return sum, err
	}
	if err := tx.QueryRow(ctx, q.upsert).Scan(&sum.Inserted, &sum.Updated); err != nil {
		return sum, fmt.Errorf("importing %s: %w", sh.File, err)
	}
	sum.Unchanged = sum.Rows - sum.Inserted - sum.Updated
	return sum, nil
}

// checkRefs reports rows that name unknown rows as a *reference.FileError,
// in line order.
func checkRefs(ctx context.Context, tx pgx.Tx, sh *reference.Sheet, refs []refCheck) error {
	type found struct {
		col int // position of the column, to order problems on one line
		le  reference.LineError
	}
	var all []found
	for _, rc := range refs {
		rows, err := tx.Query(ctx, rc.query, reference.MaxProblems+1)
		if err != nil {
			return fmt.Errorf("importing %s: checking %s: %w", sh.File, rc.column, err)
		}
		var line int
		var a, b string
		_, err = pgx.ForEachRow(rows, []any{&line, &a, &b}, func() error {
			all = append(all, found{slices.Index(sh.Columns, rc.column), reference.LineError{File: sh.File, Line: line, Column: rc.column, Msg: rc.msg(a, b)}})
			return nil
		})
		if err != nil {
			return fmt.Errorf("importing %s: checking %s: %w", sh.File, rc.column, err)
		}
	}
	slices.SortFunc(all, func(x, y found) int {
		return cmp.Or(cmp.Compare(x.le.Line, y.le.Line), cmp.Compare(x.col, y.col))
	})
	list := make([]reference.LineError, len(all))
	for i, f := range all {
		list[i] = f.le
	}
	return reference.Refuse(sh.File, list)
}

// sheetSource feeds a sheet to COPY, reporting progress every 1%.
type sheetSource struct {
	sh       *reference.Sheet
	progress func(done, total int)
	i        int
}

func (s *sheetSource) Next() bool {
	s.i++
	total := len(s.sh.Lines)
	if s.progress != nil && s.i > 0 && (s.i%max(1, total/100) == 0 || s.i == total) {
		s.progress(s.i, total)
	}
	return s.i < total
}

func (s *sheetSource) Values() ([]any, error) {
	return append([]any{int32(s.sh.Lines[s.i])}, s.sh.Values[s.i]...), nil
}

func (s *sheetSource) Err() error { return nil }

// bumpDirectory returns the directory version, incremented and announced on
// DirectoryChannel when changed. Taking the row lock also orders concurrent
// imports' notifications.
func bumpDirectory(ctx context.Context, tx pgx.Tx, changed bool) (int64, error) {
	var v int64
	if !changed {
		if err := tx.QueryRow(ctx, `SELECT version FROM directory_version`).Scan(&v); err != nil {
			return 0, fmt.Errorf("reading directory version: %w", err)
		}
		return v, nil
	}
	if err := tx.QueryRow(ctx, `UPDATE directory_version SET version = version + 1 RETURNING version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("bumping directory version: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, DirectoryChannel, strconv.FormatInt(v, 10)); err != nil {
		return 0, fmt.Errorf("notifying %s: %w", DirectoryChannel, err)
	}
	return v, nil
}

// DirectoryData is all reference data with the directory version it belongs to.
type DirectoryData struct {
	Clients    []routing.Client
	Objects    []routing.Object
	Engineers  []routing.Engineer
	Contacts   []routing.Contact
	Categories []routing.Category
	Equipment  []routing.Equipment
	Version    int64
}

// LoadDirectory reads all reference data from one snapshot, so that Version
// describes exactly the rows returned. Objects without coordinates have
// HasGeo false. Rows are ordered by natural key.
func (s *Store) LoadDirectory(ctx context.Context) (DirectoryData, error) {
	var d DirectoryData
	err := pgx.BeginTxFunc(ctx, s.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if err = tx.QueryRow(ctx, `SELECT version FROM directory_version`).Scan(&d.Version); err != nil {
			return fmt.Errorf("reading directory version: %w", err)
		}
		if d.Clients, err = collect[routing.Client](ctx, tx, `
			SELECT code, name, legal_entities, domains FROM clients ORDER BY code`); err != nil {
			return fmt.Errorf("loading clients: %w", err)
		}
		if d.Engineers, err = collect[routing.Engineer](ctx, tx, `
			SELECT code, name, email, phone, competences, areas, coalesce(lat, 0) AS lat, coalesce(lon, 0) AS lon,
				radius_km, max_open, status, rating
			FROM engineers ORDER BY code`); err != nil {
			return fmt.Errorf("loading engineers: %w", err)
		}
		if d.Objects, err = collect[routing.Object](ctx, tx, `
			SELECT client, code, name, address, city, region, oktmo,
				coalesce(lat, 0) AS lat, coalesce(lon, 0) AS lon, lat IS NOT NULL AND lon IS NOT NULL AS has_geo,
				legal_entity, coalesce(engineer, '') AS engineer
			FROM objects ORDER BY client, code`); err != nil {
			return fmt.Errorf("loading objects: %w", err)
		}
		if d.Contacts, err = collect[routing.Contact](ctx, tx, `
			SELECT client, object, name, role, email, phone FROM contacts ORDER BY client, object, email`); err != nil {
			return fmt.Errorf("loading contacts: %w", err)
		}
		if d.Categories, err = collect[routing.Category](ctx, tx, `
			SELECT code, name, competence, sla_hours, keywords FROM categories ORDER BY code`); err != nil {
			return fmt.Errorf("loading categories: %w", err)
		}
		if d.Equipment, err = collect[routing.Equipment](ctx, tx, `
			SELECT client, object, serial, model, kind, coalesce(to_char(installed, 'YYYY-MM-DD'), '') AS installed,
				coalesce(to_char(warranty_until, 'YYYY-MM-DD'), '') AS warranty_until
			FROM equipment ORDER BY client, serial`); err != nil {
			return fmt.Errorf("loading equipment: %w", err)
		}
		return nil
	})
	return d, err
}

// collect scans rows into T by column name. Lax: the routing types may carry
// fields that are not reference columns (they stay zero).
func collect[T any](ctx context.Context, tx pgx.Tx, sql string) ([]T, error) {
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByNameLax[T])
}

// DirectoryVersion returns the current directory version; it changes whenever
// an import changes reference data.
func (s *Store) DirectoryVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.Pool.QueryRow(ctx, `SELECT version FROM directory_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading directory version: %w", err)
	}
	return v, nil
}

// CopyReference upserts all reference rows of from into s in one transaction,
// the way Import does (rows only in s stay), and bumps s's directory version
// when anything changed.
func (s *Store) CopyReference(ctx context.Context, from *Store) error {
	d, err := from.LoadDirectory(ctx)
	if err != nil {
		return fmt.Errorf("copying reference data: %w", err)
	}
	sheets := []*reference.Sheet{
		reference.SheetOf("source "+reference.KindClients, d.Clients),
		reference.SheetOf("source "+reference.KindEngineers, d.Engineers),
		reference.SheetOf("source "+reference.KindObjects, d.Objects),
		reference.SheetOf("source "+reference.KindContacts, d.Contacts),
		reference.SheetOf("source "+reference.KindCategories, d.Categories),
		reference.SheetOf("source "+reference.KindEquipment, d.Equipment),
	}
	return s.InTx(ctx, func(tx pgx.Tx) error {
		changed := false
		for _, sh := range sheets {
			sum, err := upsertSheet(ctx, tx, sh, nil)
			if err != nil {
				return fmt.Errorf("copying reference data: %w", err)
			}
			changed = changed || sum.Inserted+sum.Updated > 0
		}
		_, err := bumpDirectory(ctx, tx, changed)
		return err
	})
}
