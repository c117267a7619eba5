package sqlstore

import (
	"context"
	"fmt"

	"github.com/hookd/hookd"
)

// CountMessagesByState returns how many messages are in each state, in one
// scan of the messages table (see hookd.MessageCounter: for the metrics,
// every few seconds at most).
func (s *Store) CountMessagesByState(ctx context.Context) (map[hookd.MessageState]int64, error) {
	rows, err := s.Read.QueryContext(ctx, "SELECT state, count(*) FROM messages GROUP BY state")
	if err != nil {
		return nil, fmt.Errorf("count messages: %w", err)
	}
	defer rows.Close()
	out := map[hookd.MessageState]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count messages: %w", err)
		}
		out[hookd.MessageState(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count messages: %w", err)
	}
	return out, nil
}
