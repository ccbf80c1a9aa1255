package web

import (
	"encoding/csv"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/ingest/webhook"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/store"
)

// Every code and reason the packages list has Russian in the catalogue: a
// new state, history kind, priority, category of the standard reference
// data, routing or lifecycle reason fails here until it is translated.
func TestCatalogueComplete(t *testing.T) {
	need := map[string][]string{
		LabelPriority: rules.Priorities,
		LabelEvent:    append(append(lifecycle.EventKinds(), pipeline.EventKinds...), webhook.EventCall),
		LabelAction:   nil,
		LabelReject:   routing.RejectReasons,
		LabelMethod:   routing.Methods,
		LabelOffer:    lifecycle.OfferStates,
		LabelApproval: lifecycle.ApprovalStates,
		LabelMode:     {lifecycle.ModeDirect, lifecycle.ModeOffer},
		LabelPart:     routing.AddressParts,
		LabelCategory: standardCategories(t),
	}
	for _, s := range lifecycle.States {
		need[LabelState] = append(need[LabelState], string(s))
	}
	for _, a := range lifecycle.Actions {
		need[LabelAction] = append(need[LabelAction], string(a))
	}
	for _, s := range lifecycle.SLAStandings {
		need[LabelSLA] = append(need[LabelSLA], string(s))
	}
	for kind, codes := range need {
		require.NotEmpty(t, codes, kind)
		for _, c := range codes {
			ru, ok := catalogueLabels[kind][c]
			if assert.True(t, ok, "%s %q has no Russian label in web/catalogue.go", kind, c) {
				assert.True(t, isRussianText(ru), "%s %q: %q is not Russian", kind, c, ru)
			}
		}
	}
	var reasons []string
	for _, list := range [][]string{routing.Reasons, lifecycle.Reasons, pipeline.Reasons, webhook.Reasons} {
		reasons = append(reasons, list...)
	}
	verbs := regexp.MustCompile(`%(\.\d+)?[sdqfv]`)
	for _, r := range reasons {
		ru, ok := reasonNames[r]
		if !assert.True(t, ok, "reason %q has no Russian in web/catalogue.go", r) {
			continue
		}
		assert.True(t, isRussianText(ru), "reason %q: %q is not Russian", r, ru)
		assert.Len(t, verbs.FindAllString(ru, -1), len(verbs.FindAllString(r, -1)), "reason %q: the Russian takes as many arguments", r)
	}
}

// standardCategories are the category codes of the reference data Intake
// ships with its demo (demo/categories.csv).
func standardCategories(t *testing.T) []string {
	f, err := os.Open("../demo/categories.csv")
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	var out []string
	for _, r := range recs[1:] {
		out = append(out, r[0])
	}
	return out
}

// Reasons as routing and the lifecycle write them come out in Russian,
// arguments and all; what a person wrote stays as it is.
func TestReasonRU(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{fmt.Sprintf(routing.ReasonNoneEligible, 30, "10 without refrigeration, 20 outside area"),
			"нет подходящего инженера: рассмотрено 30 — 10 инж. без компетенции «Холодильное оборудование», 20 инж. вне зоны обслуживания"},
		{routing.ReasonNothing, "нет кода магазина, известного отправителя, телефона или адреса"},
		{fmt.Sprintf(routing.ReasonNearest, 3.25, 1, 4.9, 4) + fmt.Sprintf(routing.ReasonFixedNot, "ENG-9", routing.RejectCapacity),
			"ближайший из подходящих (3.2 км, загрузка 1, рейтинг 4.90), всего подходящих 4; закреплённый инженер ENG-9: перегрузка"},
		{fmt.Sprintf(routing.ReasonAddress, routing.ReasonAddrText, "street+house+city"), "адрес (текст письма): улица+дом+город"},
		{lifecycle.NobodyAccepted(lifecycle.ReasonOfferTimedOut), "никто не принял предложение (время на ответ истекло)"},
		{fmt.Sprintf(lifecycle.ReasonChosenBy, "dispatcher:anna"), "выбран: anna (диспетчер)"},
		{lifecycle.EscalationBreached, "SLA нарушен"},
		{"инженер заболел", "инженер заболел"},
		{"something nobody wrote down", "something nobody wrote down"},
	} {
		assert.Equal(t, c.want, ReasonRU(c.in), c.in)
	}
}

// The SLA mark reads the SLA deadline, else the chain's due date.
func TestSLAOf(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	past, soon, later := now.Add(-time.Minute), now.Add(time.Hour), now.Add(5*time.Hour)
	assert.Equal(t, lifecycle.SLAOverdue, SLAOf(&store.Ticket{State: "assigned", SLADue: &past}, now))
	assert.Equal(t, lifecycle.SLAAtRisk, SLAOf(&store.Ticket{State: "new", Due: &soon}, now))
	assert.Equal(t, lifecycle.SLAOnTime, SLAOf(&store.Ticket{State: "new", SLADue: &later, Due: &past}, now))
	assert.Equal(t, lifecycle.SLANone, SLAOf(&store.Ticket{State: "done", SLADue: &past}, now))
	assert.Equal(t, "просрочена", Label(LabelSLA, string(lifecycle.SLAOverdue)))
	assert.True(t, strings.HasPrefix(Label(LabelEvent, "task_assign"), "задача"))
}
