package pipeline

// The words the pipeline writes into a ticket's history: event kinds and
// reasons. The code uses these constants only, so that the dispatchers'
// pages can translate every one (web's message catalogue checks it).
const (
	EventCreated  = "created"
	EventFollowUp = "follow_up"
	EventResolved = "resolved"
	// EventReprocessed: a stored message was run again and changed the
	// ticket; EventMerged: a ticket an update had made was merged into its
	// order's ticket (both tickets get one).
	EventReprocessed = "reprocessed"
	EventMerged      = "merged"

	ReasonNoDirectory = "no directory loaded"
	ReasonNoCategory  = "no store or category: a dispatcher decides"
	ReasonSameOrder   = "same order received again"
	ReasonResolved    = "store chosen by a dispatcher"
)

// EventKinds lists the kinds of history row the pipeline writes.
var EventKinds = []string{EventCreated, EventFollowUp, EventResolved, EventReprocessed, EventMerged}

// Reasons lists the reasons the pipeline writes into a ticket's history.
var Reasons = []string{ReasonNoDirectory, ReasonNoCategory, ReasonSameOrder, ReasonResolved}
