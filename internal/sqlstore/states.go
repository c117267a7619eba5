package sqlstore

import (
	"strings"

	"github.com/hookd/hookd"
)

// No message state is spelled out in this package's SQL: the rules are the
// domain's (hookd's state machine, see transition.go there), and a
// statement takes the states it writes or selects from them, as
// parameters, or as literals made by Lit where a statement's text must
// hold them: a planner uses a partial index only when the query repeats
// the index's WHERE terms, and a statement applied to many messages at
// once keeps one text (SQLite prepares it once) for a rule that does not
// change.

// Lit returns the states as a comma-separated list of SQL string literals:
// "'created', 'retrying'". A state name is a plain lower-case word, so it
// needs no escaping.
func Lit(states ...hookd.MessageState) string {
	parts := make([]string, len(states))
	for i, s := range states {
		parts[i] = "'" + string(s) + "'"
	}
	return strings.Join(parts, ", ")
}

// stateArgs returns the states as statement arguments.
func stateArgs(states []hookd.MessageState) []any {
	out := make([]any, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}

// The states the set-wise rules select, from the domain's predicates.
var (
	openStates     = hookd.StatesWhere(hookd.MessageState.Open)
	waitingStates  = hookd.StatesWhere(hookd.MessageState.Waiting)
	terminalStates = hookd.StatesWhere(hookd.MessageState.Terminal)
	// blockingStates[cof] are the states that block a group of a webhook
	// whose continue_on_failure is cof; [false] is the wider list.
	blockingStates = map[bool][]hookd.MessageState{
		false: hookd.StatesWhere(func(s hookd.MessageState) bool { return s.Blocks(false) }),
		true:  hookd.StatesWhere(func(s hookd.MessageState) bool { return s.Blocks(true) }),
	}
)

// groupIndexTerms repeats the partial index messages_group's WHERE clause
// (group_key != ” AND state IN ('created', 'pending', 'retrying',
// 'failed'), in the migrations): SQLite's planner may use the index only
// when it sees the same terms, and PostgreSQL's can only then tell the
// index applies to a query that narrows group_key and state through
// parameters. The index holds every message that may block its group.
var groupIndexTerms = `group_key != '' AND state IN (` + Lit(blockingStates[false]...) + `)`

// openIndexTerms repeats the partial index messages_open's WHERE clause
// (state IN ('created', 'pending', 'retrying')), for the same reason.
var openIndexTerms = `state IN (` + Lit(openStates...) + `)`
