// Package lifecycle is a ticket's life after the pipeline created it: the
// states of a ticket and of its engineer tasks, the one transition function
// that moves them, and the decisions around it — how a ticket's state
// follows its tasks, offers, approvals, timers, the completion act and the
// texts of every notification. The decisions are pure: they take the facts
// loaded for them and the time (passed in, never read from the clock) and
// return effects — the task as it is to be written, timers to plan, outbox
// messages to queue.
//
// [Service] applies them. It reaches storage only through [Store] and [Tx],
// interfaces declared here and implemented by package store, so this package
// imports no driver, bus or network package; each action is one
// transaction, and web turns its errors into status codes.
//
// # States
//
//	new ─▶ awaiting_approval ─▶ new            (approval chain; a decline cancels)
//	new ─▶ assigned | offered ─▶ accepted ─▶ in_progress ─▶ done ─▶ closed
//	assigned | accepted | in_progress ─▶ postponed ─▶ (the state it left)
//	assigned | offered | accepted ─▶ rejected ─▶ assigned | offered (re-dispatch)
//	any state but done and closed ─▶ cancelled
//
// A ticket that routing gave an engineer starts as assigned, one that went
// to offer mode or found nobody as new. A client with an approval chain sends
// a fresh ticket (new, assigned or offered, nobody accepted yet) to
// awaiting_approval; the last approval returns it to new and it is
// dispatched again; a decline cancels it with the approver's reason.
//
// postponed carries a reason and an until-time and remembers the state it
// left (Status.Resume); [ActResume] (the scheduler at the until-time) returns
// it there. rejected carries the engineer's reason; the service then
// dispatches the work to the next candidate (that engineer excluded) or, when
// there is none, leaves the ticket rejected: it is the dispatchers' queue.
// closed and cancelled are final. [Transition] is the only function that
// decides a move; an illegal one is [ErrInvalidTransition], a move out of a
// final state [ErrFinal], a move without its reason [ErrReasonRequired].
//
// # Tasks and tickets
//
// A client ticket can have several engineer tasks (a refrigeration engineer
// and an electrician for one store). Tasks move by [Transition] through
// assigned/offered, accepted, in_progress, postponed, done, rejected and
// cancelled; the ticket's state then follows its tasks by [TicketState]:
//
//   - rejected and cancelled tasks do not count ("live" tasks are the others);
//   - no live task: the ticket is rejected if some task was rejected (back to
//     the dispatchers), else it keeps its state;
//   - every live task done: done;
//   - some live task in_progress or done: in_progress (work is going on);
//   - every live task that is not done is postponed: postponed;
//   - otherwise the least advanced of the live, not postponed tasks, in the
//     order offered < assigned < accepted.
//
// Ticket-only states (new, awaiting_approval, closed, cancelled) are never
// derived from tasks: they are set by their own actions.
//
// # Offers
//
// In offer mode a task is offered to the top N engineers at once. The first
// accept wins; the store serializes accepts on the task's row and a unique
// index allows one accepted offer per task, so two racing accepts cannot both
// win. The other offers are withdrawn. When the offer timeout passes with no
// accept, the offer moves to the next N candidates; when none are left the
// task is rejected with the reason "nobody accepted" and the dispatchers are
// told.
//
// # Signed links
//
// A [Signer] makes and checks the one-click links of notification emails: an
// HMAC-SHA256 over the action, the subject (task or approval id), who may use
// it and an expiry. A link proves who clicked without a login; it does not
// grant anything the same person could not do with their API token.
package lifecycle
