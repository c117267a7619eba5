package sqlstore

import (
	"context"
	"database/sql"
	"strings"
)

// InChunks calls fn for each chunk of keys with the chunk padded to the
// smallest of chunkSizes that holds the keys left (or the largest) by
// repeating its last key, and the matching "(?, ?, …)" list. A handful of
// statement texts thus serve any number of keys and stay prepared (see
// sqlite's wtx; pgx prepares each text once per connection). Padding is
// harmless where the list is an IN set.
func InChunks(keys []any, fn func(list string, chunk []any) error) error {
	for len(keys) > 0 {
		size := chunkSizes[0]
		for _, c := range chunkSizes {
			if c >= len(keys) {
				size = c
			}
		}
		n := min(size, len(keys))
		chunk := make([]any, 0, size)
		chunk = append(chunk, keys[:n]...)
		for len(chunk) < size {
			chunk = append(chunk, keys[n-1])
		}
		keys = keys[n:]
		if err := fn("("+Placeholders(size)+")", chunk); err != nil {
			return err
		}
	}
	return nil
}

// queryIn runs query, whose "(IN)" stands for a list of keys, once per
// chunk of keys (see InChunks), with args before the keys, and calls scan
// for every row. Duplicate keys are the caller's to avoid.
func queryIn(ctx context.Context, q Queryer, query string, args []any, keys []any, scan func(*sql.Rows) error) error {
	return InChunks(keys, func(list string, chunk []any) error {
		return QueryRows(ctx, q, strings.Replace(query, "(IN)", list, 1), append(args[:len(args):len(args)], chunk...), scan)
	})
}

// QueryRows runs query and calls scan for every row.
func QueryRows(ctx context.Context, q Queryer, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
