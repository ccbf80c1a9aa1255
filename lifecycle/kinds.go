package lifecycle

// The words the lifecycle writes into a ticket's history: event kinds and
// reasons (format strings). The code uses these constants only, so that
// the dispatchers' pages can translate every one; web's message catalogue
// checks it has them all.

// Event kinds besides "task_<action>" and the ticket actions' own names.
const (
	KindState             = "state"
	KindCreated           = "created"
	KindNoEngineer        = "no_engineer"
	KindOfferMoved        = "offer_moved"
	KindOfferDeclined     = "offer_declined"
	KindAttachment        = "attachment"
	KindEscalation        = "escalation"
	KindQCCreated         = "qc_created"
	KindApprovalRequested = "approval_requested"
	KindApprovalSkipped   = "approval_skipped"
)

// Reasons the lifecycle gives.
const (
	ReasonNobodyAccepted = "nobody accepted the offer (%s)"
	ReasonNobodyTook     = "nobody accepted the offer"
	ReasonAllDeclined    = "every engineer of the round declined"
	ReasonOfferTimedOut  = "offer timed out"
	ReasonContract       = "contract's engineer"
	ReasonChainEnded     = "the chain %s the ticket"
	ReasonDeclinedBy     = "declined: %s"
	ReasonNoApprover     = "no contact with role %q"
)

// Escalation kinds (the reason of an escalation event, the type of a
// dispatchers' notice).
const (
	EscalationAtRisk          = "at_risk"
	EscalationBreached        = "breached"
	EscalationRejected        = "rejected"
	EscalationNoEngineer      = "no_engineer"
	EscalationDeclined        = "declined"
	EscalationApprovalSkipped = "approval_skipped"
)

// Reasons lists the reason formats above and the escalation kinds.
var Reasons = []string{ReasonChosenBy, ReasonNobodyAccepted, ReasonNobodyTook, ReasonAllDeclined, ReasonOfferTimedOut, ReasonContract,
	ReasonChainEnded, ReasonDeclinedBy, ReasonNoApprover,
	EscalationAtRisk, EscalationBreached, EscalationRejected, EscalationNoEngineer, EscalationDeclined, EscalationApprovalSkipped}

// Actions lists every action.
var Actions = []Action{ActRequestApproval, ActApprove, ActDecline, ActAssign, ActOffer, ActAccept, ActReject,
	ActPostpone, ActResume, ActStart, ActComplete, ActClose, ActCancel}

// OfferStates lists the states of an offer.
var OfferStates = []string{OfferPending, OfferAccepted, OfferDeclined, OfferExpired, OfferWithdrawn}

// ApprovalStates lists the states of an approval.
var ApprovalStates = []string{ApprovalWaiting, ApprovalPending, ApprovalApproved, ApprovalDeclined, ApprovalSkipped}

// SLAStandings lists where a ticket can stand against its deadline.
var SLAStandings = []SLA{SLAOnTime, SLAAtRisk, SLAOverdue}

// EventKinds lists every kind of history row the lifecycle writes.
func EventKinds() []string {
	out := []string{KindState, KindCreated, KindNoEngineer, KindOfferMoved, KindOfferDeclined, KindAttachment, KindEscalation,
		KindQCCreated, KindApprovalRequested, KindApprovalSkipped, KindComment}
	for _, a := range Actions {
		out = append(out, string(a), "task_"+string(a))
	}
	for _, s := range ApprovalStates {
		out = append(out, "approval_"+s)
	}
	return out
}
