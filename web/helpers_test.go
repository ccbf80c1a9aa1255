package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/reference"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
	"github.com/intakehq/intake/web"
)

// lcFixture is a migrated database with one chain, one store, four
// engineers and the lifecycle's routes served over HTTP.
type lcFixture struct {
	t      *testing.T
	ctx    context.Context
	st     *store.Store
	dir    *routing.Directory
	lc     *lifecycle.Service
	signer *lifecycle.Signer
	srv    *httptest.Server
	now    time.Time
}

var lcReference = map[string]string{
	reference.KindClients: "code,name,legal_entities,domains\nPU,Пятый угол,,pyatugol.ru\n",
	reference.KindEngineers: "code,name,email,phone,competences,areas,lat,lon,radius_km,max_open,status,rating\n" +
		"ENG-1,Инженер 1,eng1@x.example,,refrigeration,45000000,55.70,37.6,80,10,active,4.9\n" +
		"ENG-2,Инженер 2,eng2@x.example,,refrigeration,45000000,55.71,37.6,80,10,active,4.8\n" +
		"ENG-3,Инженер 3,eng3@x.example,,refrigeration,45000000,55.72,37.6,80,10,active,4.7\n" +
		"ENG-4,Инженер 4,eng4@x.example,,refrigeration,45000000,55.73,37.6,80,10,active,4.6\n",
	reference.KindObjects: "client,code,name,address,city,region,oktmo,lat,lon,legal_entity,engineer\n" +
		"PU,0127,Пятый угол №127,\"г. Москва, пр-т Победы, д. 101\",Москва,г. Москва,45000000,55.76918,37.67841,,\n",
	reference.KindContacts: "client,object,name,role,email,phone\n" +
		"PU,,Ильина Людмила,regional_director:г. Москва,rd.077@pyatugol.ru,\n",
	reference.KindCategories: "code,name,competence,sla_hours,keywords\nrefrigeration,Холодильное оборудование,refrigeration,4,холодил\n",
}

func newLCFixture(t *testing.T, tune func(*lifecycle.Config), log *slog.Logger) *lcFixture {
	t.Helper()
	ctx := context.Background()
	st := pgtest.Store(t)
	for _, kind := range []string{reference.KindClients, reference.KindEngineers, reference.KindObjects, reference.KindContacts, reference.KindCategories} {
		_, err := st.Import(ctx, kind, kind+".csv", strings.NewReader(lcReference[kind]), nil)
		require.NoError(t, err, kind)
	}
	dd, err := st.LoadDirectory(ctx)
	require.NoError(t, err)
	dir, err := routing.NewDirectory(dd.Clients, dd.Objects, dd.Engineers, dd.Contacts, dd.Categories)
	require.NoError(t, err)
	signer, err := lifecycle.NewSigner([]byte(strings.Repeat("k", 32)))
	require.NoError(t, err)
	cfg := lifecycle.Config{OfferN: 3, OfferTimeout: 10 * time.Minute, AtRisk: 0.8, Contractor: "ООО «Техсервис»",
		BaseURL: "https://intake.test", Location: time.UTC}
	if tune != nil {
		tune(&cfg)
	}
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	lc := lifecycle.NewService(st, cfg, signer, pipeline.LifecycleRouter(func() *routing.Directory { return dir }), func() time.Time { return now })
	mux := http.NewServeMux()
	(&web.LifecycleAPI{Service: lc, Store: st, Log: log}).Register(mux)
	srv := httptest.NewServer((&web.Server{Store: st, Log: log, Extra: mux, APITokens: []string{"dispatcher-token-long-enough-0123456789"}}).Handler())
	t.Cleanup(srv.Close)
	return &lcFixture{t: t, ctx: ctx, st: st, dir: dir, lc: lc, signer: signer, srv: srv, now: now}
}

// ticket creates a ticket for store 0127 as the pipeline's ticket stage
// does, with the lifecycle hook, and returns its id.
func (f *lcFixture) ticket(mode string) int64 {
	f.t.Helper()
	obj := f.dir.Object("PU", "0127")
	require.NotNil(f.t, obj)
	loads, err := store.OpenLoads(f.ctx, f.st.Pool)
	require.NoError(f.t, err)
	a := f.dir.Assign(obj, "refrigeration", loads, routing.Policy{Mode: mode, OfferN: 3})
	var id int64
	require.NoError(f.t, f.st.InTx(f.ctx, func(tx pgx.Tx) error {
		var item int64
		if err := tx.QueryRow(f.ctx, `INSERT INTO inbound_items (source, source_ref, dedup_key, content_sha256, raw, size)
			VALUES ('mail', $1, $1, '\x00', 'x', 1) RETURNING id`, fmt.Sprintf("test/%d", time.Now().UnixNano())).Scan(&item); err != nil {
			return err
		}
		cat := "refrigeration"
		nt := store.NewTicket{Client: "PU", Object: "0127", Category: &cat, SourceItem: item, Problem: "Не холодит витрина", State: "new", Assignment: a}
		if a.Engineer != "" {
			nt.Engineer, nt.State = &a.Engineer, "assigned"
		}
		var created bool
		var err error
		if id, created, err = store.CreateTicket(f.ctx, tx, nt); err != nil || !created {
			return fmt.Errorf("create: %v created=%v", err, created)
		}
		if err := store.AddEvent(f.ctx, tx, store.TicketEvent{TicketID: id, Actor: "intake", Kind: "created", ToState: nt.State, ItemID: &item}); err != nil {
			return err
		}
		return f.lc.OnTicket(f.ctx, store.LifecycleTx(tx), id, true, "", new(pipeline.LifecycleAssignment(a)))
	}))
	return id
}

// do sends a request with a bearer token and returns the status and body.
func (f *lcFixture) do(method, path, token, body string) (int, string) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	require.NoError(f.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
