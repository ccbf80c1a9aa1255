package lifecycle_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/lifecycle"
)

var at = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// TestTransitionTable tries every action from every state: the legal moves
// land where the package doc says, every other is refused with a sentinel.
func TestTransitionTable(t *testing.T) {
	legal := map[string]lifecycle.State{
		"new/request_approval": "awaiting_approval", "assigned/request_approval": "awaiting_approval", "offered/request_approval": "awaiting_approval",
		"awaiting_approval/approve": "new", "awaiting_approval/decline": "cancelled",
		"new/assign": "assigned", "rejected/assign": "assigned", "new/offer": "offered", "rejected/offer": "offered",
		"assigned/accept": "accepted", "offered/accept": "accepted",
		"assigned/reject": "rejected", "offered/reject": "rejected", "accepted/reject": "rejected",
		"assigned/postpone": "postponed", "accepted/postpone": "postponed", "in_progress/postpone": "postponed",
		"accepted/start": "in_progress", "in_progress/complete": "done", "done/close": "closed",
	}
	for _, s := range lifecycle.States {
		if s != lifecycle.Done && !s.Final() {
			legal[string(s)+"/cancel"] = lifecycle.Cancelled
		}
	}
	legal["postponed/resume"] = "accepted" // resume of Status{Postponed, Accepted}
	actions := []lifecycle.Action{lifecycle.ActRequestApproval, lifecycle.ActApprove, lifecycle.ActDecline, lifecycle.ActAssign, lifecycle.ActOffer,
		lifecycle.ActAccept, lifecycle.ActReject, lifecycle.ActPostpone, lifecycle.ActResume, lifecycle.ActStart, lifecycle.ActComplete,
		lifecycle.ActClose, lifecycle.ActCancel}
	for _, s := range lifecycle.States {
		for _, a := range actions {
			t.Run(string(s)+"/"+string(a), func(t *testing.T) {
				cur := lifecycle.Status{State: s}
				if s == lifecycle.Postponed {
					cur.Resume = lifecycle.Accepted
				}
				got, err := lifecycle.Transition(cur, lifecycle.Move{Action: a, Reason: "причина", Until: at.Add(time.Hour), At: at})
				want, ok := legal[string(s)+"/"+string(a)]
				if !ok {
					require.Error(t, err)
					assert.True(t, errors.Is(err, lifecycle.ErrInvalidTransition) || errors.Is(err, lifecycle.ErrFinal), err)
					assert.Equal(t, cur, got, "a refused move changes nothing")
					return
				}
				require.NoError(t, err)
				assert.Equal(t, want, got.State)
				if a == lifecycle.ActPostpone {
					assert.Equal(t, s, got.Resume, "postponed remembers the state it left")
				}
			})
		}
	}
}

func TestTransitionNeedsReasonAndUntil(t *testing.T) {
	for _, a := range []lifecycle.Action{lifecycle.ActReject, lifecycle.ActPostpone, lifecycle.ActCancel} {
		_, err := lifecycle.Transition(lifecycle.Status{State: lifecycle.Accepted}, lifecycle.Move{Action: a, Until: at.Add(time.Hour), At: at})
		assert.ErrorIs(t, err, lifecycle.ErrReasonRequired, a)
	}
	_, err := lifecycle.Transition(lifecycle.Status{State: lifecycle.Accepted}, lifecycle.Move{Action: lifecycle.ActPostpone, Reason: "x", Until: at, At: at})
	assert.ErrorIs(t, err, lifecycle.ErrUntilRequired)
	_, err = lifecycle.Transition(lifecycle.Status{State: lifecycle.Accepted}, lifecycle.Move{Action: "fly"})
	assert.ErrorIs(t, err, lifecycle.ErrUnknownAction)
}

func TestTicketState(t *testing.T) {
	S := func(ss ...lifecycle.State) []lifecycle.State { return ss }
	for _, c := range []struct {
		name  string
		cur   lifecycle.State
		tasks []lifecycle.State
		want  lifecycle.State
	}{
		{"no tasks keeps state", lifecycle.New, nil, lifecycle.New},
		{"one task mirrors it", lifecycle.New, S(lifecycle.Offered), lifecycle.Offered},
		{"all rejected: dispatchers", lifecycle.Assigned, S(lifecycle.Rejected), lifecycle.Rejected},
		{"re-dispatched after reject", lifecycle.Assigned, S(lifecycle.Rejected, lifecycle.Assigned), lifecycle.Assigned},
		{"least advanced", lifecycle.Assigned, S(lifecycle.Accepted, lifecycle.Assigned), lifecycle.Assigned},
		{"work going on", lifecycle.Accepted, S(lifecycle.InProgress, lifecycle.Assigned), lifecycle.InProgress},
		{"one done one waiting", lifecycle.Accepted, S(lifecycle.Done, lifecycle.Accepted), lifecycle.InProgress},
		{"all done", lifecycle.InProgress, S(lifecycle.Done, lifecycle.Done, lifecycle.Cancelled), lifecycle.Done},
		{"all open postponed", lifecycle.Accepted, S(lifecycle.Postponed, lifecycle.Postponed), lifecycle.Postponed},
		{"one postponed one accepted", lifecycle.Accepted, S(lifecycle.Postponed, lifecycle.Accepted), lifecycle.Accepted},
		{"final stays", lifecycle.Cancelled, S(lifecycle.Accepted), lifecycle.Cancelled},
		{"approval not derived", lifecycle.AwaitingApproval, S(lifecycle.Assigned), lifecycle.AwaitingApproval},
	} {
		t.Run(c.name, func(t *testing.T) { assert.Equal(t, c.want, lifecycle.TicketState(c.cur, c.tasks)) })
	}
}

func TestSigner(t *testing.T) {
	_, err := lifecycle.NewSigner([]byte("short"))
	require.Error(t, err)
	s, err := lifecycle.NewSigner([]byte(strings.Repeat("x", 32)))
	require.NoError(t, err)
	tok := s.Sign(lifecycle.Link{Action: lifecycle.ActAccept, Kind: "task", Subject: 17, Who: "ENG-0006", Expires: at.Add(time.Hour)})
	l, err := s.Verify(tok, at)
	require.NoError(t, err)
	assert.Equal(t, int64(17), l.Subject)
	assert.Equal(t, "ENG-0006", l.Who)
	_, err = s.Verify(tok, at.Add(time.Hour))
	assert.ErrorIs(t, err, lifecycle.ErrLinkExpired)
	other, _ := lifecycle.NewSigner([]byte(strings.Repeat("y", 32)))
	_, err = other.Verify(tok, at)
	assert.ErrorIs(t, err, lifecycle.ErrBadSignature)
	p, sig, _ := strings.Cut(tok, ".")
	_, err = s.Verify(p+"x."+sig, at)
	assert.ErrorIs(t, err, lifecycle.ErrBadSignature)
}
