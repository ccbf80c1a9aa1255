package pipeline

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/intakehq/intake/store"
)

// The tickets read for a group in advance answer only while the group has
// not created or changed them.
func TestGroupOrdersReadInAdvance(t *testing.T) {
	known := store.OrderKey{Client: "PU", ExternalID: "WO-1"}
	absent := store.OrderKey{Client: "PU", ExternalID: "WO-2"}
	other := store.OrderKey{Client: "PU", ExternalID: "WO-3"} // not named by the group
	t1 := &store.Ticket{ID: 7, Client: "PU"}
	ld := &loads{
		orders:  map[store.OrderKey]*store.Ticket{known: t1},
		asked:   map[store.OrderKey]bool{known: true, absent: true},
		touched: map[int64]bool{}, made: map[store.OrderKey]bool{},
	}

	got, ok := ld.order(known)
	assert.True(t, ok)
	assert.Same(t, t1, got)
	got, ok = ld.order(absent)
	assert.True(t, ok, "known to have no ticket")
	assert.Nil(t, got)
	_, ok = ld.order(other)
	assert.False(t, ok, "not read in advance: look it up")

	ld.wrote(42, absent) // the group created the ticket of WO-2
	_, ok = ld.order(absent)
	assert.False(t, ok, "created by the group: read it again")
	ld.wrote(7, store.OrderKey{}) // a follow-up changed ticket 7
	_, ok = ld.order(known)
	assert.False(t, ok, "changed by the group: read it again")

	// The group created the ticket of WO-2 and its hooks are done: a
	// follow-up in the same group takes the row as they left it.
	t2 := &store.Ticket{ID: 42, Client: "PU", State: "assigned"}
	ld.created(absent, t2)
	got, ok = ld.order(absent)
	assert.True(t, ok)
	assert.Same(t, t2, got)
	ld.wrote(42, store.OrderKey{}) // a follow-up changed it
	_, ok = ld.order(absent)
	assert.False(t, ok)

	var none *loads
	_, ok = none.order(known)
	assert.False(t, ok)
	none.wrote(1, known) // no read-ahead: nothing to note
	_, ok = (&loads{}).order(known)
	assert.False(t, ok)
}
