package rules_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/rules/defaults"
)

// TestNewChainOnboardedWithYAMLAlone loads a fictional chain's format and
// rules (testdata/chains/fixmart.yaml) in front of the shipped set and runs
// a hand-built notification through format selection, extraction and the
// route and assign stages. No Go code knows about the chain.
func TestNewChainOnboardedWithYAMLAlone(t *testing.T) {
	data, err := os.ReadFile("testdata/chains/fixmart.yaml")
	require.NoError(t, err)
	set, err := rules.Load(append([]rules.File{{Name: "testdata/chains/fixmart.yaml", Data: data}}, defaults.Files()...))
	require.NoError(t, err)

	msk := time.FixedZone("MSK", 3*3600)
	doc := &parsers.Document{
		MessageID: "sdp-40512@sd.fixmart.example",
		From:      parsers.Address{Name: "FixMart Service Desk", Email: "helpdesk@sd.fixmart.example"},
		To:        []parsers.Address{{Email: "orders@intake.example"}},
		Subject:   "[Request ID :##40512##] Заявка создана: не холодит витрина",
		Header:    map[string][]string{"X-Mailer": {"ServiceDesk Plus"}, "Auto-Submitted": {"auto-generated"}},
		Text: "Заявка создана.\n" +
			"Описание: Не холодит витрина №3, температура +12\n" +
			"Категория: Холодильное оборудование\n",
		Tables: [][][]string{{
			{"Store", "FM0042"},
			{"Address", "Москва, ул. Ленина, 5"},
			{"Priority", "P1"},
		}},
	}

	cases := []struct {
		name      string
		received  time.Time
		matched   []string
		route     rules.Actions
		assign    rules.Actions
		assignHit []string
	}{
		{
			name:     "working hours: SLA, priority and tags from the chain's rules",
			received: time.Date(2026, 3, 3, 10, 15, 0, 0, msk), // Tuesday
			matched:  []string{"fm-refrigeration-sla", "fm-tag"},
			route: rules.Actions{SLAHours: 4, Priority: "critical",
				Tags: []string{"fm", "fm-fm0042", "fixmart"}},
			assign:    rules.Actions{ExcludeEngineers: []string{"ENG-017"}, AssignMode: rules.AssignOffer, OfferN: 3},
			assignHit: []string{"fm-no-trainee"},
		},
		{
			name:      "saturday night goes to the dispatchers",
			received:  time.Date(2026, 3, 7, 22, 40, 0, 0, msk),
			matched:   []string{"fm-after-hours-to-dispatch"},
			route:     rules.Actions{Unmatched: "FixMart after-hours order, confirm by phone"},
			assign:    rules.Actions{ExcludeEngineers: []string{"ENG-017"}, AssignMode: rules.AssignOffer, OfferN: 3},
			assignHit: []string{"fm-no-trainee"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := rules.NewEnv(flow.SourceMail, doc, tc.received, tc.received)
			assert.Equal(t, "sd.fixmart.example", env.FromDomain)

			msg := set.Evaluate(rules.StageMessage, env)
			assert.Empty(t, msg.Actions.Ignore, "service desk notifications are auto-generated, not auto-replies")

			f, trace := set.SelectFormat(env)
			require.NotNil(t, f, "trace: %+v", trace)
			assert.Equal(t, "fm-sdp", f.Name)
			assert.Equal(t, "FM", f.Client)

			fields := f.Format.Extract(doc, parsers.ExtractContext{Now: tc.received, Location: tc.received.Location()})
			assert.Equal(t, "40512", fields.ExternalID)
			assert.Equal(t, "FM0042", fields.ObjectCode)
			assert.Equal(t, "critical", fields.Priority)
			assert.Equal(t, "refrigeration", fields.Category)
			assert.Equal(t, "new", fields.Event)

			env.Format = f.Name
			env.SetFields(fields)
			env.SetClient(routing.Client{Code: f.Client, Name: "ФиксМарт", Domains: []string{"fixmart.example"}})
			env.SetObject(routing.Object{Client: "FM", Code: fields.ObjectCode, Name: "ФиксМарт Ленина"})

			route := set.Evaluate(rules.StageRoute, env)
			assert.Equal(t, tc.matched, route.Matched, "trace: %+v", route.Trace)
			assert.Equal(t, tc.route, route.Actions)

			assign := set.Evaluate(rules.StageAssign, env)
			assert.Equal(t, tc.assignHit, assign.Matched)
			assert.Equal(t, tc.assign, assign.Actions)
		})
	}
}

// TestShippedRulesOnFreeText runs the shipped defaults over mail that no
// format recognizes.
func TestShippedRulesOnFreeText(t *testing.T) {
	set, err := rules.Load(defaults.Files())
	require.NoError(t, err)
	tue := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		doc     parsers.Document
		client  string
		fields  parsers.Fields
		ignore  string // message or route stage
		matched []string
		actions rules.Actions
	}{
		{
			name:    "newsletter from a stranger is ignored",
			doc:     parsers.Document{From: parsers.Address{Email: "news@shop-supplies.example"}, Subject: "Скидки недели", Header: map[string][]string{"List-Unsubscribe": {"<mailto:u@x>"}}},
			ignore:  "newsletter",
			matched: []string{"ignore-newsletters"},
			actions: rules.Actions{Ignore: "newsletter"},
		},
		{
			name:    "a client's mailing is kept",
			doc:     parsers.Document{From: parsers.Address{Email: "news@pu.example"}, Subject: "Новости", Header: map[string][]string{"List-Unsubscribe": {"<mailto:u@x>"}}},
			client:  "PU",
			matched: []string{"route-default"},
		},
		{
			name:    "urgent free text gets priority high",
			doc:     parsers.Document{From: parsers.Address{Email: "director@pu.example"}, Subject: "СРОЧНО течёт крыша", NewText: "Магазин 12, течёт крыша"},
			client:  "PU",
			fields:  parsers.Fields{Priority: "normal"},
			matched: []string{"urgent-free-text", "route-default"},
			actions: rules.Actions{Priority: "high", Tags: []string{"urgent-words"}},
		},
		{
			name:    "out-of-office is dropped before extraction",
			doc:     parsers.Document{From: parsers.Address{Email: "director@pu.example"}, Subject: "Автоответ: Re: заявка", Header: map[string][]string{"Auto-Submitted": {"auto-replied"}}},
			ignore:  "automatic reply",
			matched: []string{"ignore-auto-replies"},
			actions: rules.Actions{Ignore: "automatic reply"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := rules.NewEnv(flow.SourceMail, &tc.doc, tue, tue)
			env.SetClient(routing.Client{Code: tc.client})
			res := set.Evaluate(rules.StageMessage, env)
			if res.Actions.Ignore == "" {
				f, _ := set.MatchFormat(env)
				require.Nil(t, f)
				env.SetFields(tc.fields)
				res = set.Evaluate(rules.StageRoute, env)
			}
			assert.Equal(t, tc.matched, res.Matched)
			assert.Equal(t, tc.actions, res.Actions)
			assert.Equal(t, tc.ignore, res.Actions.Ignore)
		})
	}
}
