package lifecycle

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCanReassign(t *testing.T) {
	ranked := []string{"E1", "E2"}
	for _, c := range []struct {
		name     string
		state    State
		live     []string
		engineer string
		reason   string
		want     error
	}{
		{"new, eligible", New, nil, "E1", "", nil},
		{"new, not eligible, no reason", New, nil, "E9", "", ErrReasonRequired},
		{"new, not eligible, with reason", New, nil, "E9", "знает объект", nil},
		{"assigned, taking back without reason", Assigned, []string{"E1"}, "E2", "", ErrReasonRequired},
		{"in progress, taking back with reason", InProgress, []string{"E1"}, "E2", "заболел", nil},
		{"awaiting approval", AwaitingApproval, nil, "E1", "x", ErrInvalidTransition},
		{"done", Done, nil, "E1", "x", ErrInvalidTransition},
		{"closed", Closed, nil, "E1", "x", ErrFinal},
		{"nobody", New, nil, " ", "x", ErrInvalidTransition},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CanReassign(c.state, c.live, c.engineer, ranked, c.reason)
			if c.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, c.want)
		})
	}
}

func TestCanAddTask(t *testing.T) {
	assert.NoError(t, CanAddTask(Assigned, []string{"E1"}, "E2"))
	assert.NoError(t, CanAddTask(InProgress, []string{"E1"}, "E2"))
	assert.ErrorIs(t, CanAddTask(InProgress, []string{"E1"}, "E1"), ErrEngineerBusy)
	assert.ErrorIs(t, CanAddTask(New, nil, "E1"), ErrInvalidTransition, "a new ticket is assigned, not added to")
	assert.ErrorIs(t, CanAddTask(Done, []string{"E1"}, "E2"), ErrInvalidTransition)
	assert.ErrorIs(t, CanAddTask(Cancelled, nil, "E2"), ErrFinal)
}
