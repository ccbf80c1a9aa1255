package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// Held-back writes run before the statement they travel with, in order, and
// one that fails names its owner, also when it surfaces later.
func TestWriteBehind(t *testing.T) {
	ctx := context.Background()
	st := pgtest.Store(t)
	if _, err := st.Pool.Exec(ctx, `CREATE TABLE wb (k int PRIMARY KEY, v text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	count := func(tx pgx.Tx) int {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM wb`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	err := st.InTx(ctx, func(ptx pgx.Tx) error {
		w := store.NewWriteBehind(ptx)
		w.SetOwner("first")
		for k := range 3 {
			if err := store.ExecLater(ctx, w, nil, `INSERT INTO wb VALUES ($1, 'x')`, k); err != nil {
				return err
			}
		}
		if w.Held() != 3 {
			t.Errorf("held %d writes, want 3", w.Held())
		}
		if n := count(w); n != 3 {
			t.Errorf("a read after three held inserts sees %d rows", n)
		}
		if w.Held() != 0 {
			t.Errorf("after the read %d writes are still held", w.Held())
		}
		// A query returning rows, and an Exec, each carry held writes.
		if err := store.ExecLater(ctx, w, nil, `UPDATE wb SET v = 'y' WHERE k = 0`); err != nil {
			return err
		}
		rows, err := w.Query(ctx, `SELECT v FROM wb ORDER BY k`)
		if err != nil {
			return err
		}
		vs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(vs) != 3 || vs[0] != "y" {
			t.Errorf("rows after a held update: %v", vs)
		}
		if err := store.ExecLater(ctx, w, nil, `INSERT INTO wb VALUES (9, 'z')`); err != nil {
			return err
		}
		tag, err := w.Exec(ctx, `DELETE FROM wb WHERE k = 9`)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			t.Errorf("an Exec after a held insert deleted %d rows", tag.RowsAffected())
		}
		return w.Flush(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}

	// A failing write (a duplicate key), and a failing check, surface with
	// the next read and name their owner.
	for name, write := range map[string]func(w *store.WriteBehind) error{
		"constraint": func(w *store.WriteBehind) error {
			return store.ExecLater(ctx, w, nil, `INSERT INTO wb VALUES (0, 'dup')`)
		},
		"check": func(w *store.WriteBehind) error {
			return store.ExecLater(ctx, w, func(tag pgconn.CommandTag) error {
				if tag.RowsAffected() != 1 {
					return errors.New("no such row")
				}
				return nil
			}, `UPDATE wb SET v = 'q' WHERE k = 42`)
		},
	} {
		err := st.InTx(ctx, func(ptx pgx.Tx) error {
			w := store.NewWriteBehind(ptx)
			w.SetOwner("culprit")
			if err := write(w); err != nil {
				t.Fatalf("%s: a held write failed at once: %v", name, err)
			}
			w.SetOwner("innocent")
			var n int
			return w.QueryRow(ctx, `SELECT count(*) FROM wb`).Scan(&n)
		})
		var he *store.HeldWriteError
		if !errors.As(err, &he) || he.Owner != "culprit" {
			t.Errorf("%s: error %v does not name the culprit", name, err)
		}
	}
	var n int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM wb`).Scan(&n); err != nil || n != 3 {
		t.Errorf("after the failed transactions: %d rows (%v), want 3", n, err)
	}
}

// A server on the loopback address is spoken to without TLS unless the URL
// asks for a mode; then the URL wins.
func TestNoTLSOnLoopbackUnlessAsked(t *testing.T) {
	ctx := context.Background()
	u := pgtest.URL(t)
	sslIn := func(url string) bool {
		st, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var ssl bool
		if err := st.Pool.QueryRow(ctx, `SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)`).Scan(&ssl); err != nil {
			t.Fatal(err)
		}
		return ssl
	}
	if !strings.Contains(u, "127.0.0.1") && !strings.Contains(u, "localhost") {
		t.Skip("the test database is not on a loopback TCP address")
	}
	if sslIn(u) {
		t.Error("TLS used on loopback without sslmode in the URL")
	}
	var serverSSL string
	st := pgtest.Store(t)
	if err := st.Pool.QueryRow(ctx, `SHOW ssl`).Scan(&serverSSL); err != nil {
		t.Fatal(err)
	}
	if serverSSL == "on" {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		if !sslIn(u + sep + "sslmode=require") {
			t.Error("sslmode=require in the URL did not give TLS")
		}
	}
}
