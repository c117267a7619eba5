package postgres_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// BenchmarkCountMessagesByState measures the query behind the hookd_messages
// gauges and NextDue, behind hookd_oldest_due_message_age_seconds, on a
// store of a million messages: 96 % successful, 2 % failed, 1 % retrying,
// 1 % created (as sqlite's benchmark of the same name).
func BenchmarkCountMessagesByState(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	u := pgtest.FreshURL(b)
	db, err := postgres.Open(ctx, u)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	raw, err := sql.Open("pgx", u)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	now := time.Now().UnixMilli()
	_, err = raw.Exec(`INSERT INTO messages (seq, id, tenant_id, webhook_id, event_id, event_type, event_group, group_key, state,
			attempt_count, tries, next_attempt_at, due_at, last_attempt_at, last_status_code, created_at, updated_at)
		SELECT i, format('msg_01kbench%s', lpad(i::text, 16, '0')), 'tenant' || (i % 50), format('wh_01kbench%s', lpad((i % 500)::text, 15, '0')),
			format('evt_01kbench%s', lpad(i::text, 15, '0')), 'Unit.Updated', '', '',
			CASE WHEN i % 100 < 96 THEN 'successful' WHEN i % 100 < 98 THEN 'failed'
				WHEN i % 100 < 99 THEN 'retrying' ELSE 'created' END,
			1, 1, CASE WHEN i % 100 >= 98 THEN $1 + i END, CASE WHEN i % 100 >= 98 THEN $1 + i END,
			$1, 200, $1 - i, $1 - i FROM generate_series(1, $2::bigint) AS i`, now, n)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := raw.Exec("VACUUM ANALYZE messages"); err != nil {
		b.Fatal(err)
	}
	b.Run("CountMessagesByState", func(b *testing.B) {
		for b.Loop() {
			counts, err := db.CountMessagesByState(ctx)
			if err != nil || counts[hookd.StateSuccessful] != n*96/100 || counts[hookd.StateFailed] != n*2/100 {
				b.Fatal(counts, err)
			}
		}
	})
	b.Run("GroupByState", func(b *testing.B) {
		for b.Loop() {
			rows, err := raw.Query("SELECT state, count(*) FROM messages GROUP BY state")
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
			}
			rows.Close()
		}
	})
	b.Run("NextDue", func(b *testing.B) {
		for b.Loop() {
			if _, ok, err := db.NextDue(ctx); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}
