package store_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/routing"
)

// A dispatcher assigns, reassigns, offers, adds a second engineer's task
// and comments: each is one history row under his name, the engineers are
// told, and the ticket follows all its tasks.
func TestDispatcherActions(t *testing.T) {
	e := newLCEnv(t, 4, nil)
	ctx, lc := e.ctx, e.lc
	id := e.ticket("0127", "WO-7", routing.ModeDirect, 4)
	require.Equal(t, "assigned", e.state(id))
	first := e.lastTask(id)

	// The ranking a dispatcher chooses from explains every engineer.
	a, err := lc.Candidates(ctx, id)
	require.NoError(t, err)
	require.Len(t, a.Ranked, 4)
	require.Len(t, a.Considered, 4)
	assert.Equal(t, 1, a.Considered[0].Rank)

	// Taking the work from its engineer needs a reason.
	err = lc.Assign(ctx, id, "dispatcher:anna", "ENG-0003", "")
	require.ErrorIs(t, err, lifecycle.ErrReasonRequired)
	require.NoError(t, lc.Assign(ctx, id, "dispatcher:anna", "ENG-0003", "инженер заболел"))
	require.Equal(t, "assigned", e.state(id))
	ks := e.tasks(id)
	require.Len(t, ks, 2)
	assert.Equal(t, "cancelled", ks[0].State, "the first engineer's task is taken back")
	assert.Equal(t, first.ID, ks[0].ID)
	assert.Equal(t, "ENG-0003", ks[1].EngineerCode())
	h := e.history(id)
	assert.Contains(t, h, "dispatcher:anna")
	assert.Contains(t, h, "task_cancel")
	assert.Contains(t, h, "инженер заболел")

	// A second engineer gets his own task; not twice, and not a stranger to
	// the ticket twice either.
	require.NoError(t, lc.AddTask(ctx, id, "dispatcher:anna", "ENG-0004", "нужен второй человек"))
	require.ErrorIs(t, lc.AddTask(ctx, id, "dispatcher:anna", "ENG-0004", ""), lifecycle.ErrEngineerBusy)
	ks = e.tasks(id)
	require.Len(t, ks, 3)
	assert.Equal(t, "ENG-0004", ks[2].EngineerCode())
	assert.Equal(t, "assigned", ks[2].State)

	// Both work; the ticket is done only when both are.
	for _, k := range ks[1:] {
		eng := k.EngineerCode()
		require.NoError(t, lc.Accept(ctx, k.ID, eng, "engineer:"+eng))
		require.NoError(t, lc.Start(ctx, k.ID, eng, "engineer:"+eng))
	}
	require.NoError(t, lc.Complete(ctx, ks[1].ID, "ENG-0003", "engineer:ENG-0003", lifecycle.Completion{WorkDone: "заменён вентилятор"}))
	require.Equal(t, "in_progress", e.state(id))
	require.NoError(t, lc.Complete(ctx, ks[2].ID, "ENG-0004", "engineer:ENG-0004", lifecycle.Completion{WorkDone: "помог"}))
	require.Equal(t, "done", e.state(id))
	require.ErrorIs(t, lc.AddTask(ctx, id, "dispatcher:anna", "ENG-0001", ""), lifecycle.ErrInvalidTransition)

	require.ErrorIs(t, lc.Comment(ctx, id, "dispatcher:anna", "  "), lifecycle.ErrReasonRequired)
	require.NoError(t, lc.Comment(ctx, id, "dispatcher:anna", "клиент подтвердил по телефону"))
	require.NoError(t, lc.Close(ctx, id, "dispatcher:anna", ""))
	require.Equal(t, "closed", e.state(id))
	assert.Contains(t, e.history(id), "клиент подтвердил по телефону")

	// A new ticket offered by hand to two engineers.
	id2 := e.ticket("0128", "WO-8", routing.ModeDirect, 4)
	require.NoError(t, lc.Offer(ctx, id2, "dispatcher:anna", []string{"ENG-0002", "ENG-0001"}, "срочно"))
	require.Equal(t, "offered", e.state(id2))
	lcOf, err := e.st.LifecycleOf(ctx, id2)
	require.NoError(t, err)
	var pending []string
	for _, o := range lcOf.Offers {
		if o.State == lifecycle.OfferPending {
			pending = append(pending, o.Engineer)
		}
	}
	assert.ElementsMatch(t, []string{"ENG-0002", "ENG-0001"}, pending)
	require.NoError(t, lc.Cancel(ctx, id2, "dispatcher:anna", "дубль"))
	require.Equal(t, "cancelled", e.state(id2))
	require.ErrorIs(t, lc.Assign(ctx, id2, "dispatcher:anna", "ENG-0001", "x"), lifecycle.ErrFinal)
}
