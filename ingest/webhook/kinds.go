package webhook

// The words a call writes into a ticket's history (web's message catalogue
// translates them).
const (
	EventCall      = "call"
	ReasonCall     = "%s call with %s (%s)"
	ReasonIncoming = "incoming"
	ReasonOutgoing = "outgoing"
)

// Reasons lists the reasons a call writes.
var Reasons = []string{ReasonCall, ReasonIncoming, ReasonOutgoing}
