package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// intake act takes the contractor from the configuration it runs with; when
// there is none it says so on stderr and leaves the line to fill in by
// hand, instead of a dash.
func TestActContractorFromConfig(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO clients (code, name) VALUES ('PU', 'Пятый угол')`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO objects (client, code, name) VALUES ('PU', '0127', 'Пятый угол №127')`); err != nil {
			return err
		}
		var item int64
		if err := tx.QueryRow(ctx, `INSERT INTO inbound_items (source, source_ref, dedup_key, content_sha256, raw, size)
			VALUES ('mail', 'act-test', 'act-test', '\x00', 'x', 1) RETURNING id`).Scan(&item); err != nil {
			return err
		}
		_, _, err := store.CreateTicket(ctx, tx, store.NewTicket{Client: "PU", Object: "0127", SourceItem: item, Problem: "Не холодит витрина", State: "new"})
		return err
	}))

	out, errOut, err := runCLI(t, url, "act", "1")
	require.NoError(t, err)
	assert.Contains(t, errOut, "no configuration file")
	assert.Contains(t, errOut, "lifecycle.contractor")
	assert.NotContains(t, out, "<th>Исполнитель</th><td>—</td>")
	assert.Contains(t, out, `<th>Исполнитель</th><td><div class="line"`)

	cfg := filepath.Join(t.TempDir(), "intake.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("lifecycle:\n  contractor: ООО «Техсервис», ИНН 7701234567\n"), 0o600))
	out, errOut, err = runCLI(t, url, "act", "--config", cfg, "1")
	require.NoError(t, err)
	assert.Contains(t, out, "ООО «Техсервис», ИНН 7701234567")
	assert.NotContains(t, errOut, "lifecycle.contractor")

	empty := filepath.Join(t.TempDir(), "intake.yaml")
	require.NoError(t, os.WriteFile(empty, []byte("log:\n  level: info\n"), 0o600))
	_, errOut, err = runCLI(t, url, "act", "--config", empty, "1")
	require.NoError(t, err)
	assert.Contains(t, errOut, empty+" has no lifecycle.contractor")
}
