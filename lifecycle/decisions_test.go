package lifecycle_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/lifecycle"
)

func ptr[T any](v T) *T { return &v }

func TestMoveTask(t *testing.T) {
	cases := []struct {
		name    string
		from    lifecycle.Task
		move    lifecycle.Move
		want    lifecycle.Task
		wantErr error
	}{
		{"accept stamps the time", lifecycle.Task{ID: 1, State: "assigned"}, lifecycle.Move{Action: lifecycle.ActAccept},
			lifecycle.Task{ID: 1, State: "accepted", AcceptedAt: &at}, nil},
		{"start stamps the time", lifecycle.Task{ID: 1, State: "accepted"}, lifecycle.Move{Action: lifecycle.ActStart},
			lifecycle.Task{ID: 1, State: "in_progress", StartedAt: &at}, nil},
		{"complete stamps the time", lifecycle.Task{ID: 1, State: "in_progress"}, lifecycle.Move{Action: lifecycle.ActComplete},
			lifecycle.Task{ID: 1, State: "done", DoneAt: &at}, nil},
		{"postpone keeps the state to return to and the until-time", lifecycle.Task{ID: 1, State: "accepted"},
			lifecycle.Move{Action: lifecycle.ActPostpone, Reason: "закрыто", Until: at.Add(time.Hour)},
			lifecycle.Task{ID: 1, State: "postponed", ResumeState: "accepted", Reason: "закрыто", PostponedUntil: ptr(at.Add(time.Hour))}, nil},
		{"resume returns and clears the until-time", lifecycle.Task{ID: 1, State: "postponed", ResumeState: "in_progress", PostponedUntil: &at},
			lifecycle.Move{Action: lifecycle.ActResume}, lifecycle.Task{ID: 1, State: "in_progress"}, nil},
		{"an illegal move leaves the task", lifecycle.Task{ID: 1, State: "done"}, lifecycle.Move{Action: lifecycle.ActStart},
			lifecycle.Task{ID: 1, State: "done"}, lifecycle.ErrInvalidTransition},
		{"reject needs a reason", lifecycle.Task{ID: 1, State: "assigned"}, lifecycle.Move{Action: lifecycle.ActReject},
			lifecycle.Task{ID: 1, State: "assigned"}, lifecycle.ErrReasonRequired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := tc.from
			from, err := lifecycle.MoveTask(&k, tc.move, at)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
				assert.Equal(t, lifecycle.State(tc.from.State), from)
			}
			assert.Equal(t, tc.want, k)
		})
	}
}

func TestFollow(t *testing.T) {
	a, b := "ENG-1", "ENG-2"
	cases := []struct {
		name       string
		current    lifecycle.State
		tasks      []lifecycle.Task
		wantState  lifecycle.State
		wantHolder *string
	}{
		{"one assigned task", lifecycle.New, []lifecycle.Task{{State: "assigned", Engineer: &a}}, lifecycle.Assigned, &a},
		{"the rejected engineer does not hold it", lifecycle.Assigned,
			[]lifecycle.Task{{State: "rejected", Engineer: &a}, {State: "assigned", Engineer: &b}}, lifecycle.Assigned, &b},
		{"every task rejected: the dispatchers'", lifecycle.Assigned, []lifecycle.Task{{State: "rejected", Engineer: &a}}, lifecycle.Rejected, nil},
		{"an offer has nobody yet", lifecycle.New, []lifecycle.Task{{State: "offered"}}, lifecycle.Offered, nil},
		{"awaiting approval is not derived", lifecycle.AwaitingApproval, []lifecycle.Task{{State: "assigned", Engineer: &a}}, lifecycle.AwaitingApproval, &a},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, holder := lifecycle.Follow(tc.current, tc.tasks)
			assert.Equal(t, tc.wantState, st)
			assert.Equal(t, tc.wantHolder, holder)
			assert.True(t, lifecycle.SameEngineer(holder, tc.wantHolder))
		})
	}
	assert.False(t, lifecycle.SameEngineer(&a, &b))
	assert.False(t, lifecycle.SameEngineer(&a, nil))
}

func TestClockRuns(t *testing.T) {
	cases := []struct {
		state        lifecycle.State
		ticket, task bool
	}{
		{lifecycle.New, true, true},
		{lifecycle.Postponed, true, true},
		{lifecycle.Done, true, false},
		{lifecycle.Rejected, true, false},
		{lifecycle.Closed, false, false},
		{lifecycle.Cancelled, false, false},
	}
	for _, tc := range cases {
		t.Run(string(tc.state), func(t *testing.T) {
			assert.Equal(t, tc.ticket, lifecycle.ClockRuns(tc.state, false), "ticket")
			assert.Equal(t, tc.task, lifecycle.ClockRuns(tc.state, true), "task")
		})
	}
}

func TestCheckAccept(t *testing.T) {
	me, other := "ENG-1", "ENG-2"
	cases := []struct {
		name    string
		task    lifecycle.Task
		offer   string
		wantErr error
	}{
		{"direct: the assignee", lifecycle.Task{Mode: "direct", State: "assigned", Engineer: &me}, "", nil},
		{"direct: someone else", lifecycle.Task{Mode: "direct", State: "assigned", Engineer: &other}, "", lifecycle.ErrNotAssignee},
		{"offer: a pending offer wins", lifecycle.Task{Mode: "offer", State: "offered"}, lifecycle.OfferPending, nil},
		{"offer: never offered to me", lifecycle.Task{Mode: "offer", State: "offered"}, "", lifecycle.ErrNotAssignee},
		{"offer: another engineer was first", lifecycle.Task{Mode: "offer", State: "accepted", Engineer: &other}, lifecycle.OfferWithdrawn, lifecycle.ErrTaken},
		{"offer: I accepted already", lifecycle.Task{Mode: "offer", State: "accepted", Engineer: &me}, lifecycle.OfferAccepted, lifecycle.ErrInvalidTransition},
		{"offer: my round expired", lifecycle.Task{Mode: "offer", State: "offered"}, lifecycle.OfferExpired, lifecycle.ErrInvalidTransition},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := lifecycle.CheckAccept(&tc.task, me, tc.offer)
			if tc.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.wantErr)
		})
	}
}

func TestNextRound(t *testing.T) {
	cases := []struct {
		name       string
		candidates []string
		n          int
		next, rest []string
	}{
		{"a full round", []string{"a", "b", "c", "d"}, 3, []string{"a", "b", "c"}, []string{"d"}},
		{"the last few", []string{"d"}, 3, []string{"d"}, []string{}},
		{"nobody left", []string{}, 3, []string{}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := lifecycle.Task{Candidates: tc.candidates}
			next, rest := lifecycle.NextRound(&k, tc.n)
			assert.Equal(t, tc.next, next)
			assert.Equal(t, tc.rest, rest)
		})
	}
	assert.Equal(t, []string{"b", "d"}, lifecycle.Remaining([]string{"a", "b", "c", "d"}, []string{"a", "c"}))
}

func TestRedispatchMode(t *testing.T) {
	assert.Equal(t, "offer", lifecycle.RedispatchMode("offer", nil), "the last task's mode")
	assert.Equal(t, "direct", lifecycle.RedispatchMode("direct", []byte(`{"Offer":["a"]}`)), "the last task's mode first")
	assert.Equal(t, "offer", lifecycle.RedispatchMode("", []byte(`{"Engineer":"","Offer":["a","b"]}`)), "routing offered it")
	assert.Equal(t, "direct", lifecycle.RedispatchMode("", []byte(`{"Engineer":"ENG-1"}`)))
	assert.Equal(t, "direct", lifecycle.RedispatchMode("", nil))
}

func TestTimers(t *testing.T) {
	due := at.Add(4 * time.Hour)
	tk := lifecycle.Ticket{ID: 7, Client: "PU", State: "assigned", CreatedAt: at, SLADue: &due}
	sla := lifecycle.SLATimers(&tk, 0.8)
	require.Len(t, sla, 2)
	assert.Equal(t, lifecycle.Timer{Key: "risk:7", Kind: "risk", TicketID: 7, DueAt: at.Add(192 * time.Minute)}, sla[0])
	assert.Equal(t, lifecycle.Timer{Key: "breach:7", Kind: "breach", TicketID: 7, DueAt: due}, sla[1])
	assert.Empty(t, lifecycle.SLATimers(&lifecycle.Ticket{ID: 8}, 0.8), "no SLA, no timers")

	k := lifecycle.Task{ID: 3, TicketID: 7, State: "offered", OfferRound: 2}
	offer := lifecycle.OfferTimer(&k, at, 10*time.Minute)
	assert.Equal(t, "offer:3:2", offer.Key)
	assert.Equal(t, at.Add(10*time.Minute), offer.DueAt)
	wake := lifecycle.WakeTimer(&k, due)
	assert.Equal(t, "wake", wake.Kind)
	assert.Equal(t, due, wake.DueAt)

	cfg := lifecycle.Config{QCDelay: map[string]time.Duration{"": time.Hour, "PU": 72 * time.Hour, "VR": 0}}
	qc, ok := cfg.QCTimer(&tk, at)
	require.True(t, ok)
	assert.Equal(t, lifecycle.Timer{Key: "qc:7", Kind: "qc", TicketID: 7, DueAt: at.Add(72 * time.Hour)}, qc)
	_, ok = cfg.QCTimer(&lifecycle.Ticket{Client: "VR"}, at)
	assert.False(t, ok, "0 for the client: no QC ticket")
	other, ok := cfg.QCTimer(&lifecycle.Ticket{Client: "XX"}, at)
	require.True(t, ok)
	assert.Equal(t, at.Add(time.Hour), other.DueAt, "the default delay")
}

func TestObsolete(t *testing.T) {
	until := at.Add(time.Hour)
	offer := lifecycle.OfferTimer(&lifecycle.Task{ID: 3, OfferRound: 2}, at, time.Minute)
	cases := []struct {
		name     string
		timer    lifecycle.Timer
		ticket   lifecycle.Ticket
		task     *lifecycle.Task
		accepted bool
		want     string
	}{
		{"offer round still open", offer, lifecycle.Ticket{}, &lifecycle.Task{State: "offered", OfferRound: 2}, false, ""},
		{"offer accepted", offer, lifecycle.Ticket{}, &lifecycle.Task{State: "accepted", OfferRound: 2}, false, "obsolete: task accepted"},
		{"offer moved to the next round", offer, lifecycle.Ticket{}, &lifecycle.Task{State: "offered", OfferRound: 3}, false, "obsolete: task offered"},
		{"wake at its time", lifecycle.Timer{Kind: "wake", DueAt: until}, lifecycle.Ticket{}, &lifecycle.Task{State: "postponed", PostponedUntil: &until}, false, ""},
		{"wake of a later postponement", lifecycle.Timer{Kind: "wake", DueAt: at}, lifecycle.Ticket{}, &lifecycle.Task{State: "postponed", PostponedUntil: &until}, false, "obsolete: task postponed"},
		{"risk, nobody accepted", lifecycle.Timer{Kind: "risk"}, lifecycle.Ticket{State: "offered"}, nil, false, ""},
		{"risk, accepted", lifecycle.Timer{Kind: "risk"}, lifecycle.Ticket{State: "accepted"}, nil, true, "obsolete: accepted"},
		{"breach, accepted but not done", lifecycle.Timer{Kind: "breach"}, lifecycle.Ticket{State: "in_progress"}, nil, true, ""},
		{"breach of a done ticket", lifecycle.Timer{Kind: "breach"}, lifecycle.Ticket{State: "done"}, nil, false, "obsolete: ticket done"},
		{"qc of a done ticket", lifecycle.Timer{Kind: "qc"}, lifecycle.Ticket{State: "done"}, nil, false, ""},
		{"qc of a reopened ticket", lifecycle.Timer{Kind: "qc"}, lifecycle.Ticket{State: "cancelled"}, nil, false, "obsolete: ticket cancelled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, lifecycle.Obsolete(&tc.timer, &tc.ticket, tc.task, tc.accepted))
		})
	}
}

func TestApprovals(t *testing.T) {
	roles := lifecycle.ApproverRoles([]lifecycle.ApprovalStep{{Role: "regional_director", ByRegion: true}, {Role: "central_office"}}, "г. Москва")
	assert.Equal(t, []string{"regional_director:г. Москва", "central_office"}, roles)

	cases := []struct {
		name      string
		state     string
		approve   bool
		by        string
		reason    string
		wantErr   error
		wantState string
	}{
		{"approve", "pending", true, "RD@pyatugol.ru", "", nil, "approved"},
		{"decline with a reason", "pending", false, "rd@pyatugol.ru", "не в бюджете", nil, "declined"},
		{"decline without a reason", "pending", false, "rd@pyatugol.ru", " ", lifecycle.ErrReasonRequired, "pending"},
		{"someone else", "pending", true, "co@pyatugol.ru", "", lifecycle.ErrNotAssignee, "pending"},
		{"not asked yet", "waiting", true, "rd@pyatugol.ru", "", lifecycle.ErrApprovalClosed, "waiting"},
		{"decided already", "approved", false, "rd@pyatugol.ru", "нет", lifecycle.ErrApprovalClosed, "approved"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := lifecycle.Approval{ID: 1, ContactEmail: "rd@pyatugol.ru", State: tc.state}
			err := lifecycle.Decide(&a, tc.approve, tc.by, tc.reason, at)
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tc.by, a.DecidedBy)
				assert.Equal(t, &at, a.DecidedAt)
			}
			assert.Equal(t, tc.wantState, a.State)
		})
	}
	a := lifecycle.Approval{Role: "store_director", State: "waiting"}
	lifecycle.SkipApproval(&a, at)
	assert.Equal(t, "skipped", a.State)
	assert.Equal(t, `no contact with role "store_director"`, a.Reason)
}

func TestCanAttach(t *testing.T) {
	cfg := lifecycle.Config{MaxAttachments: 2, MaxTaskBytes: 100, MaxAttachmentBytes: 60}.WithDefaults()
	open := lifecycle.Ticket{State: "in_progress"}
	cases := []struct {
		name    string
		task    string
		ticket  lifecycle.Ticket
		n       int
		total   int64
		wantErr error
	}{
		{"in progress", "in_progress", open, 0, 0, nil},
		{"not taken yet", "assigned", open, 0, 0, lifecycle.ErrInvalidTransition},
		{"ticket closed", "done", lifecycle.Ticket{State: "closed"}, 0, 0, lifecycle.ErrFinal},
		{"too many files", "accepted", open, 2, 0, lifecycle.ErrAttachmentLimit},
		{"too many bytes", "accepted", open, 1, 60, lifecycle.ErrAttachmentLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := cfg.CanAttach(&lifecycle.Task{State: tc.task}, &tc.ticket, tc.n, tc.total, 50)
			if tc.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.wantErr)
		})
	}
	assert.ErrorIs(t, cfg.CheckFileSize("big.jpg", 61), lifecycle.ErrAttachmentLimit)
	assert.NoError(t, cfg.CheckFileSize("ok.jpg", 60))
}

func TestConfigDefaults(t *testing.T) {
	d := lifecycle.Config{AtRisk: 1.5}.WithDefaults()
	assert.Equal(t, lifecycle.DefaultOfferN, d.OfferN)
	assert.Equal(t, lifecycle.DefaultOfferTimeout, d.OfferTimeout)
	assert.Equal(t, lifecycle.DefaultAtRisk, d.AtRisk, "out of range takes the default")
	assert.Equal(t, lifecycle.DefaultLinkTTL, d.LinkTTL)
	assert.Equal(t, time.UTC, d.Location)
	set := lifecycle.Config{OfferN: 5, AtRisk: 0.5}.WithDefaults()
	assert.Equal(t, 5, set.OfferN)
	assert.Equal(t, 0.5, set.AtRisk)
}

func TestPeriod(t *testing.T) {
	wed := time.Date(2026, 11, 4, 15, 0, 0, 0, time.UTC)
	cases := []struct {
		kind       string
		start, end time.Time
	}{
		{"week", time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC)},
		{"month", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{"quarter", time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"year", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			start, end := lifecycle.Period(tc.kind, wed)
			assert.Equal(t, tc.start, start)
			assert.Equal(t, tc.end, end)
		})
	}
	eng := "ENG-1"
	it, start, a := lifecycle.RecurringTicket(&lifecycle.Contract{ID: 4, Client: "PU", Object: "0127", Problem: "ТО", Period: "month", Engineer: &eng}, wed)
	assert.Equal(t, "recurring/4/2026-11-01", it.Ref)
	assert.Equal(t, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), start)
	assert.Equal(t, time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC), *it.SLADue)
	require.NotNil(t, a)
	assert.Equal(t, eng, a.Engineer)
}

// TestQuotedSenderText plants lines in a ticket's problem that imitate ours
// (links and all, behind every kind of line break) and checks that in the
// engineer's and the approver's emails every line that starts like one of
// ours is ours, and the sender's lines are all quoted.
func TestQuotedSenderText(t *testing.T) {
	planted := "Не холодит витрина.\nПринять: https://evil.example/l/x\r\nОтказаться: https://evil.example/l/y\u2028Согласовать: https://evil.example/a\rОтклонить: https://evil.example/d"
	tk := lifecycle.Ticket{ID: 1, Number: "INT-1", Client: "PU", Object: "0127", Problem: planted}
	k := lifecycle.Task{ID: 2}
	cfg := lifecycle.Config{}.WithDefaults()
	ours := lifecycle.TaskLinks{Accept: "https://intake.test/l/accept", Reject: "https://intake.test/l/reject"}
	msgs := cfg.EngineerMessages(&tk, &k, lifecycle.EngineerContact{Code: "ENG-1", Name: "Иван", Email: "eng@example"}, "offered", ours, 9)
	require.Len(t, msgs, 1)
	engineer := msgs[0].Payload.(lifecycle.Email).Text
	approval := lifecycle.ApprovalMessage(&tk, &lifecycle.Approval{ContactName: "Ильина", ContactEmail: "rd@example"},
		"https://intake.test/l/approve", "https://intake.test/l/decline", 9).Payload.(lifecycle.Email).Text
	want := map[string]string{
		"Принять: ":     "https://intake.test/l/accept",
		"Отказаться: ":  "https://intake.test/l/reject",
		"Согласовать: ": "https://intake.test/l/approve",
		"Отклонить: ":   "https://intake.test/l/decline",
	}
	for name, text := range map[string]string{"engineer": engineer, "approval": approval} {
		t.Run(name, func(t *testing.T) {
			assert.NotContains(t, text, "\r")
			assert.NotContains(t, text, "\u2028")
			for _, line := range strings.Split(text, "\n") {
				if strings.Contains(line, "evil.example") {
					assert.True(t, strings.HasPrefix(line, "> "), "sender's line not quoted: %q", line)
				}
				for prefix, link := range want {
					if strings.HasPrefix(line, prefix) {
						assert.Equal(t, prefix+link, line, "a line that looks like ours is not ours")
					}
				}
			}
			assert.Contains(t, text, "> Не холодит витрина.")
		})
	}
	assert.Equal(t, "> a\n> \n> b", lifecycle.Quote("a\n\nb\n"))
}

func TestChainEnds(t *testing.T) {
	assert.Equal(t, "cancelled", lifecycle.ChainEnds("assigned", "cancelled"))
	assert.Equal(t, "closed", lifecycle.ChainEnds("new", "closed"))
	assert.Equal(t, "", lifecycle.ChainEnds("in_progress", "comment"))
	assert.Equal(t, "", lifecycle.ChainEnds("done", "closed"), "a ticket done keeps its state")
	assert.Equal(t, "", lifecycle.ChainEnds("cancelled", "closed"))
}
