package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// queryList runs a read query and scans every row with scan; what names the
// list in errors. It is the one loop behind the List methods.
func queryList[T any](ctx context.Context, q Queryer, what, query string, args []any,
	scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	return out, nil
}

// createdBetween adds the terms of a list's since (created_at >= since)
// and until (created_at < until) filters, where given.
func createdBetween(where []string, args []any, since, until *time.Time) ([]string, []any) {
	if since != nil {
		where = append(where, "created_at >= ?")
		args = append(args, MS(*since))
	}
	if until != nil {
		where = append(where, "created_at < ?")
		args = append(args, MS(*until))
	}
	return where, args
}
