package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// beforeWebhookNumbers is the last schema version before migration 0004.
const beforeWebhookNumbers = 3

// oldWebhook is a webhook row as the schema before 0004 holds it.
type oldWebhook struct{ id, tenant, url, filter string }

// insertOldWebhooks writes webhooks into a database of the schema before
// 0004, as its CreateWebhook did (which the store of today cannot: it
// numbers webhooks).
func insertOldWebhooks(t *testing.T, u string, ws ...oldWebhook) {
	t.Helper()
	raw, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, w := range ws {
		_, err := raw.Exec(`INSERT INTO webhooks (id, tenant_id, name, description, url, url_norm, enabled,
			event_types, filter, headers, auth, secrets, timeout_ms, max_retries, retry_schedule, grouped,
			continue_on_failure, suspend_after_ns, rate_limit, created_at, updated_at)
			VALUES ($1, $2, 'old', '', $3, $3, 1, '["*"]', $4, 'null', 'null', '[]', 10000, 6, 'null', 0, 0, 0, 0, 1, 1)`,
			w.id, w.tenant, w.url, w.filter)
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Migration 0004 numbers the existing webhooks of each tenant 1, 2, … in
// id order (their order of creation), and the next create goes on from
// the highest; the webhooks' filters count for duplicates from then on.
func TestMigrateWebhookNumbersAndDuplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := pgtest.FreshURL(t)
	old, err := postgres.OpenAtVersion(ctx, u, beforeWebhookNumbers)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := old.CreateTenant(ctx, &hookd.Tenant{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()
	// Inserted out of id order: the numbers follow the ids.
	insertOldWebhooks(t, u,
		oldWebhook{"wh_03", "a", "https://example.com/3", "null"},
		oldWebhook{"wh_01", "a", "https://example.com/1", "null"},
		oldWebhook{"wh_02", "b", "https://example.com/2", "{}"},
		oldWebhook{"wh_04", "a", "https://example.com/4", `{"kind":"unit","party_id":"42"}`},
	)
	db, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tt := range []struct {
		tenant string
		number int64
		id     string
	}{{"a", 1, "wh_01"}, {"a", 2, "wh_03"}, {"a", 3, "wh_04"}, {"b", 1, "wh_02"}} {
		w, err := db.GetWebhookByNumber(ctx, tt.tenant, tt.number)
		if err != nil || w.ID != tt.id {
			t.Errorf("tenant %s number %d = %v, %v; want %s", tt.tenant, tt.number, w, err, tt.id)
		}
	}
	for tenant, want := range map[string]int64{"a": 4, "b": 2, "c": 1} {
		w := hookd.NewWebhookDefaults()
		w.TenantID, w.Name, w.URL, w.EventTypes = tenant, "new", "https://example.com/new", []string{"*"}
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		if w.Number != want {
			t.Errorf("tenant %s's first webhook after the migration has number %d, want %d", tenant, w.Number, want)
		}
	}
	for _, tt := range []struct {
		tenant, url string
		filter      map[string]string
		existing    string // "" when no conflict
	}{
		{"a", "https://EXAMPLE.com/1", nil, "wh_01"},
		{"b", "https://example.com/2", nil, "wh_02"},
		{"a", "https://example.com/4", map[string]string{"party_id": "42", "kind": "unit"}, "wh_04"},
		{"a", "https://example.com/1", map[string]string{"party_id": "1"}, ""},
		{"b", "https://example.com/2", map[string]string{"party_id": "1"}, ""},
		{"a", "https://example.com/4", nil, ""},
	} {
		w := hookd.NewWebhookDefaults()
		w.TenantID, w.Name, w.URL, w.Filter, w.EventTypes = tt.tenant, "new", tt.url, tt.filter, []string{"*"}
		err := db.CreateWebhook(ctx, w)
		if e, ok := err.(*hookd.Error); tt.existing != "" && (!ok || e.Code != hookd.ECONFLICT || e.ExistingID != tt.existing) {
			t.Errorf("create %s %v in %s: %v, want a conflict with %s", tt.url, tt.filter, tt.tenant, err, tt.existing)
		} else if tt.existing == "" && err != nil {
			t.Errorf("create %s %v in %s: %v", tt.url, tt.filter, tt.tenant, err)
		}
	}
}
