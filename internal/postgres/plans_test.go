package postgres_test

import (
	"context"
	"database/sql"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/sqlstore"
)

// On 20,000 analysed messages (20 tenants, 40 webhooks, 96 % successful),
// the planner serves a list paged by position (the dialects' pageNumber
// and offset) and its total from the indexes its terms are spelled for:
// PostgreSQL may use a partial index only when it can prove the query's
// terms imply the index's WHERE clause, which a change of spelling could
// silently lose (sqlite's TestIndexOnlyPages checks SQLite's plans).
func TestIndexOnlyPagesPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := pgtest.FreshURL(t)
	db, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`INSERT INTO messages (seq, id, tenant_id, webhook_id, event_id, event_type, event_group, group_key, state,
			created_at, updated_at)
		SELECT i, format('msg_01kplan%s', lpad(i::text, 16, '0')), 'tenant' || (i % 20), format('wh_01kplan%s', lpad((i % 40)::text, 16, '0')),
			format('evt_01kplan%s', lpad(i::text, 16, '0')), 'Unit.Updated', '', '',
			CASE WHEN i % 1000 < 960 THEN 'successful' WHEN i % 1000 < 980 THEN 'failed' WHEN i % 1000 < 990 THEN 'retrying'
				WHEN i % 1000 < 995 THEN 'created' ELSE 'aborted' END, $1, $1 FROM generate_series(1, 20000) AS i`,
		time.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("VACUUM ANALYZE messages"); err != nil {
		t.Fatal(err)
	}
	const wh = "wh_01kplan0000000000000002" // tenant2's
	one := func(s hookd.MessageState) []hookd.MessageState { return []hookd.MessageState{s} }
	for _, tt := range []struct {
		name        string
		f           hookd.MessageFilter
		list, count []string // indexes the plan must use, each
	}{
		{"a webhook's", hookd.MessageFilter{WebhookID: wh}, []string{"messages_webhook"}, []string{"webhooks_pkey", "messages_webhook"}},
		{"a webhook's created", hookd.MessageFilter{WebhookID: wh, States: one(hookd.StateCreated)},
			[]string{"messages_open"}, []string{"messages_open"}},
		{"a webhook's aborted", hookd.MessageFilter{WebhookID: wh, States: one(hookd.StateAborted)},
			[]string{"messages_unsuccessful"}, []string{"messages_unsuccessful"}},
		{"a webhook's resolved", hookd.MessageFilter{WebhookID: wh, States: one(hookd.StateResolved)},
			[]string{"messages_unsuccessful"}, []string{"messages_unsuccessful"}},
		{"a webhook's successful", hookd.MessageFilter{WebhookID: wh, States: one(hookd.StateSuccessful)},
			[]string{"messages_webhook"}, []string{"messages_webhook", "messages_open", "messages_unsuccessful"}},
		{"a tenant's failed", hookd.MessageFilter{States: one(hookd.StateFailed)}, []string{"messages_failed"}, []string{"messages_failed"}},
		{"a tenant's resolved", hookd.MessageFilter{States: one(hookd.StateResolved)}, []string{"messages_ended"}, []string{"messages_ended"}},
	} {
		f := tt.f
		f.Offset, f.Limit = 100, 20
		query, args := sqlstore.ListMessagesQuery("tenant2", f)
		wantIndexes(t, raw, "list "+tt.name, query, args, tt.list)
		query, args, _ = sqlstore.CountMatchingQuery("tenant2", f)
		wantIndexes(t, raw, "count "+tt.name, query, args, tt.count)
	}
	// A webhook's failed messages have two partial indexes; either will do.
	f := hookd.MessageFilter{WebhookID: wh, States: one(hookd.StateFailed), Page: hookd.Page{Limit: 20}, Offset: 100}
	query, args := sqlstore.ListMessagesQuery("tenant2", f)
	if plan := explain(t, raw, query, args); !usesIndex(plan, "messages_unsuccessful") && !usesIndex(plan, "messages_failed_webhook") {
		t.Errorf("list a webhook's failed: plan uses neither messages_unsuccessful nor messages_failed_webhook:\n%s", plan)
	}
}

// explain returns PostgreSQL's plan of a statement of sqlstore.
func explain(t *testing.T, raw *sql.DB, query string, args []any) string {
	t.Helper()
	rows, err := raw.Query("EXPLAIN "+postgres.Rebind(query), args...)
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// usesIndex reports whether a plan scans index.
func usesIndex(plan, index string) bool {
	return regexp.MustCompile(`(Scan using|Index Scan on) ` + index + ` `).MatchString(plan)
}

func wantIndexes(t *testing.T, raw *sql.DB, name, query string, args []any, indexes []string) {
	t.Helper()
	plan := explain(t, raw, query, args)
	for _, idx := range indexes {
		if !usesIndex(plan, idx) {
			t.Errorf("%s: plan does not use %s:\n%s", name, idx, plan)
		}
	}
}
