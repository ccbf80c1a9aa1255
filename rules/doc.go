// Package rules compiles the operations staff's YAML (chain email formats and
// routing rules) into an immutable Set, and evaluates it against an Env.
//
// # Loading
//
// Load takes YAML files in order. Each may hold formats: (parsers.FormatSpec
// items plus a match expression) and rules:. Everything is checked at load:
// expressions are compiled and type-checked against Env, action values
// against their action, regular expressions, names and stages. Any problem
// refuses the whole set, and every problem found is reported together in a
// *LoadError with file, rule, line and column; the caller keeps the set it
// had. The caller publishes a loaded Set by swapping a pointer; a Set never
// changes.
//
// # Evaluation
//
// Rules run by stage (message, route, assign), in file order and then in
// the order written. In a stage, the first rule whose when is true stops
// the stage unless it says continue: true. The actions of the rules that
// matched are merged in order, so a later rule overrides single values set
// by an earlier continue-rule, and tags and engineer lists accumulate. A
// default: true rule always matches; placed last in its stage, it is the
// explicit default, and a rule after a default is refused as unreachable.
//
// Formats are tried in file order; the first whose match is true extracts
// the message, unless a message-stage rule chose one with format:.
//
// A run-time error in a condition or an action value (a nil map, a bad
// dynamic pattern, a Budget exceeded) makes the rule count as not
// matching; the error is recorded in the trace with the rule's name, and
// counted by name in the Set's Counts. Every evaluated rule and format
// leaves a TraceEntry.
//
// # Safety
//
// Rules do no I/O: everything they can look at is in Env, filled in by the
// caller. Expressions are bounded at load (MaxExprLen, MaxExprDepth,
// MaxExprNodes, constant repeat counts) and at run time by a Budget of
// time and bytes per rule (DefaultBudget, Set.Budget) besides expr's
// element budget: the patcher puts a deadline check in every loop body and
// before every match, and the builtins that allocate charge their bytes
// before allocating. Regular expressions are RE2 (linear time) and see at
// most MaxRegexInput bytes of their input; panics in helpers are
// recovered. Env.Now is the clock, so a
// backtest evaluates as of the original time; expr's now() is disabled.
//
// File order matters: pass the operations' files first and the shipped
// defaults (package rules/defaults) last, so that specific rules run before
// the generic ones and the shipped defaults end each stage.
package rules
