// Package replay runs messages through Intake's stages to see what they
// would become, without touching the data in force: the tools operations
// staff use before and after they change a format, a rule or the reference
// data.
//
//   - Try runs messages through the stages inside one transaction that is
//     rolled back, so that nothing is written; a follow-up finds the ticket
//     an earlier message of the same run created.
//   - Eval runs a labelled folder of mail through the real pipeline in a
//     scratch database and measures each field against the labels.
//   - Backtest replays stored mail twice, with the rule set in force and
//     with a candidate, each in its own scratch database, and counts what
//     would change.
//   - VerifyAssignments checks every ticket's first assignment against the
//     rules of assignment.
//
// Scratch databases are created on the server the caller names and dropped
// when the run ends, whatever happens; the live database is only read.
// Results carry what a person needs to judge them; the Write functions
// render them as text, which the command line prints.
package replay
