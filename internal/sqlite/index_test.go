package sqlite_test

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlite"
)

// The queries that lost an index in migration 0003 (messages_webhook_state,
// attempts_tenant) still read an index range, not the whole table: the
// partial indexes on failed messages serve only queries that spell
// state = 'failed' out, which an edit could silently lose.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	failed := []hookd.MessageState{hookd.StateFailed}
	listFailed, listFailedArgs := sqlite.ListMessagesQuery("a", hookd.MessageFilter{States: failed})
	listFailedHook, listFailedHookArgs := sqlite.ListMessagesQuery("a", hookd.MessageFilter{WebhookID: "wh", States: failed})
	since, until := time.Unix(0, 0), time.Now()
	listFailedRange, listFailedRangeArgs := sqlite.ListMessagesQuery("a",
		hookd.MessageFilter{States: []hookd.MessageState{hookd.StateFailed, hookd.StateFailed}, Since: &since, Until: &until})
	listOther, listOtherArgs := sqlite.ListMessagesQuery("a",
		hookd.MessageFilter{States: []hookd.MessageState{hookd.StateFailed, hookd.StateRetrying}})
	for _, tt := range []struct {
		name    string
		query   string
		args    []any
		search  string   // a table the plan must search by index
		indexes []string // one of which it must use
	}{
		{"RecoverMessages", sqlite.RecoverQuery, []any{"wh", 0, math.MaxInt64},
			"messages", []string{"messages_failed_webhook"}},
		{"ListMessages failed", listFailed, listFailedArgs, "messages", []string{"messages_failed"}},
		{"ListMessages failed, created in a range", listFailedRange, listFailedRangeArgs,
			"messages", []string{"messages_failed"}},
		{"ListMessages failed of a webhook", listFailedHook, listFailedHookArgs,
			"messages", []string{"messages_unsuccessful"}},
		// The trade-off of 0003: other state filters read the tenant's
		// messages in id order, still not the whole table.
		{"ListMessages failed or retrying", listOther, listOtherArgs, "messages", []string{"messages_tenant"}},
		{"DeleteTenant's attempts", sqlite.DeleteTenantAttemptsQuery, []any{"a"}, "attempts", []string{"attempts_message"}},
		{"DeleteTenant's attempts, their messages", sqlite.DeleteTenantAttemptsQuery, []any{"a"},
			"messages", []string{"messages_tenant"}},
		// A webhook's unfinished messages, however many it keeps.
		{"hold a webhook's messages", sqlite.HoldQuery, []any{0, "wh"}, "messages", []string{"messages_open"}},
		{"release a webhook's messages", sqlite.ReleaseQuery, []any{0, "wh"}, "messages", []string{"messages_open"}},
		{"abort a deleted webhook's messages", sqlite.AbortWebhookQuery, []any{0, "wh"}, "messages", []string{"messages_open"}},
		{"ListAttempts", sqlite.ListAttemptsQuery, []any{"msg", "a", "", 50}, "attempts", []string{"attempts_message"}},
	} {
		plan, err := sqlite.QueryPlan(db, tt.query, tt.args...)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		found := false
		for _, line := range plan {
			if strings.HasPrefix(line, "SCAN messages") || strings.HasPrefix(line, "SCAN attempts") {
				t.Errorf("%s scans a table: %q", tt.name, line)
			}
			for _, idx := range tt.indexes {
				for _, using := range []string{" USING INDEX ", " USING COVERING INDEX ", " EXISTS USING INDEX "} {
					found = found || strings.HasPrefix(line, "SEARCH "+tt.search+using+idx+" (")
				}
			}
		}
		if !found {
			t.Errorf("%s: plan %q does not search %s by %s", tt.name, plan, tt.search, strings.Join(tt.indexes, " or "))
		}
	}
}

// A list paged by position finds its page's ids, and its total counts,
// in an index alone (the SEARCH lines say COVERING INDEX), however many
// messages it skips or counts: the dialects' pageNumber, offset and
// totalCount (see ListMessagesQuery and CountMatchingQuery). Each filter's
// statements read only the indexes named; a webhook's count also reads
// its webhook's row (or one of its messages, once it is deleted) for its
// tenant.
func TestIndexOnlyPages(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	one := func(s hookd.MessageState) []hookd.MessageState { return []hookd.MessageState{s} }
	for _, tt := range []struct {
		name    string
		f       hookd.MessageFilter
		list    string   // the index of the page's ids
		counted []string // the indexes counted
	}{
		{"a tenant's", hookd.MessageFilter{}, "messages_tenant", []string{"messages_tenant"}},
		{"a tenant's failed", hookd.MessageFilter{States: one(hookd.StateFailed)}, "messages_failed", []string{"messages_failed"}},
		{"a tenant's resolved", hookd.MessageFilter{States: one(hookd.StateResolved)}, "messages_ended", []string{"messages_ended"}},
		{"a webhook's", hookd.MessageFilter{WebhookID: "wh"}, "messages_webhook", []string{"messages_webhook"}},
		{"a webhook's created", hookd.MessageFilter{WebhookID: "wh", States: one(hookd.StateCreated)},
			"messages_open", []string{"messages_open"}},
		{"a webhook's retrying", hookd.MessageFilter{WebhookID: "wh", States: one(hookd.StateRetrying)},
			"messages_open", []string{"messages_open"}},
		{"a webhook's failed", hookd.MessageFilter{WebhookID: "wh", States: one(hookd.StateFailed)},
			"messages_unsuccessful", []string{"messages_unsuccessful", "messages_failed_webhook"}},
		{"a webhook's aborted", hookd.MessageFilter{WebhookID: "wh", States: one(hookd.StateAborted)},
			"messages_unsuccessful", []string{"messages_unsuccessful"}},
		// Successful has no index: its page reads the webhook's messages
		// until it is full, its count is the others' complement.
		{"a webhook's successful", hookd.MessageFilter{WebhookID: "wh", States: one(hookd.StateSuccessful)},
			"", []string{"messages_webhook", "messages_open", "messages_unsuccessful", "messages_failed_webhook"}},
		{"a webhook's created or failed", hookd.MessageFilter{WebhookID: "wh", States: []hookd.MessageState{hookd.StateCreated, hookd.StateFailed}},
			"", []string{"messages_open", "messages_unsuccessful", "messages_failed_webhook"}},
	} {
		f := tt.f
		f.Offset, f.Limit = 1000, 20
		query, args := sqlite.ListMessagesQuery("a", f)
		plan, err := sqlite.QueryPlan(db, query, args...)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		// The last line is the subquery of the ids; the rows are read by id.
		if want := "SEARCH messages USING COVERING INDEX " + tt.list + " ("; tt.list != "" && !strings.HasPrefix(plan[len(plan)-1], want) {
			t.Errorf("list %s: plan %q, want the ids from %s", tt.name, plan, want)
		}
		for _, line := range plan {
			if strings.HasPrefix(line, "SCAN messages") {
				t.Errorf("list %s scans the table: %q", tt.name, plan)
			}
		}
		query, args = sqlite.CountMatchingQuery("a", f)
		plan, err = sqlite.QueryPlan(db, query, args...)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var searches []string
		for _, line := range plan {
			if strings.HasPrefix(line, "SCAN messages") {
				t.Errorf("count %s scans the table: %q", tt.name, plan)
			}
			if strings.HasPrefix(line, "SEARCH messages") {
				searches = append(searches, line)
			}
		}
		if f.WebhookID != "" && len(searches) > 0 {
			searches = searches[1:] // a message of a deleted webhook
		}
		if len(searches) == 0 {
			t.Errorf("count %s: plan %q counts nothing", tt.name, plan)
		}
		for _, line := range searches {
			ok := false
			for _, idx := range tt.counted {
				ok = ok || strings.HasPrefix(line, "SEARCH messages USING COVERING INDEX "+idx+" (")
			}
			if !ok {
				t.Errorf("count %s: %q is not a range of %s alone (plan %q)", tt.name, line, strings.Join(tt.counted, " or "), plan)
			}
		}
	}
}

// A database with the indexes of the migrations before 0003, with failed
// and delivered messages and their attempts, takes 0003 on Open: the
// partial indexes are built from the existing rows, and the queries that
// use them or lost an index answer as before.
func TestMigrateNarrowerIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	// The rows are written by today's store, which needs today's columns
	// (a store at version 2 could not: later migrations add columns it
	// reads), and then the indexes are taken back to version 2's:
	// 0003 and 0004 are undone and run again on Open.
	old, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	hooks := map[string]string{}
	failedOf := map[string][]string{} // message ids by tenant, in id order
	for tenant, states := range map[string][]hookd.MessageState{
		"a": {hookd.StateFailed, hookd.StateSuccessful, hookd.StateFailed, hookd.StateRetrying},
		"b": {hookd.StateFailed},
	} {
		if err := old.CreateTenant(ctx, &hookd.Tenant{ID: tenant}); err != nil {
			t.Fatal(err)
		}
		w := hookd.NewWebhookDefaults()
		w.TenantID, w.URL, w.EventTypes = tenant, "https://example.com/"+tenant, []string{"*"}
		if err := old.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		hooks[tenant] = w.ID
		evs := make([]hookd.EventInput, len(states))
		for i := range evs {
			evs[i] = hookd.EventInput{Type: "Unit.Updated", Payload: json.RawMessage(`{}`)}
		}
		if _, err := old.Publish(ctx, tenant, evs, t0); err != nil {
			t.Fatal(err)
		}
		ds, err := old.Claim(ctx, t0, len(states), time.Minute)
		if err != nil || len(ds) != len(states) {
			t.Fatalf("claimed %d of %d: %v", len(ds), len(states), err)
		}
		slices.SortFunc(ds, func(x, y *hookd.Delivery) int { return strings.Compare(x.Message.ID, y.Message.ID) })
		var outs []hookd.Outcome
		for i, d := range ds {
			o := hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: states[i],
				// Trigger test: today's Complete counts other attempts into
				// delivery_stats, which this old schema does not have yet.
				Attempt: hookd.Attempt{StartedAt: t0, StatusCode: 500, Trigger: hookd.TriggerTest}}
			switch states[i] {
			case hookd.StateSuccessful:
				o.Attempt.StatusCode, o.Attempt.Success = 200, true
			case hookd.StateRetrying:
				o.NextAttemptAt = t0.Add(time.Hour)
			case hookd.StateFailed:
				failedOf[tenant] = append(failedOf[tenant], d.Message.ID)
			}
			outs = append(outs, o)
		}
		if err := old.Complete(ctx, outs, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	raw := rawDB(t, path)
	if _, err := raw.Exec(`DROP INDEX messages_failed; DROP INDEX messages_failed_webhook; DROP INDEX messages_open;
		CREATE INDEX messages_webhook_state ON messages (webhook_id, state, created_at);
		CREATE INDEX attempts_tenant ON attempts (tenant_id);
		DELETE FROM schema_version WHERE version IN (3, 4)`); err != nil {
		t.Fatal(err)
	}
	indexes := func() []string {
		t.Helper()
		rows, err := raw.Query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('messages', 'attempts') AND sql IS NOT NULL")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(names)
		return names
	}
	before := indexes()
	if !slices.Contains(before, "messages_webhook_state") || !slices.Contains(before, "attempts_tenant") {
		t.Fatalf("the database at version 2 has the indexes %v", before)
	}

	db := MustOpenPath(t, path)
	var version int
	if err := raw.QueryRow("SELECT count(*) FROM schema_version WHERE version = 3").Scan(&version); err != nil || version != 1 {
		t.Fatalf("schema_version rows of version 3: %d, %v", version, err)
	}
	after := indexes()
	for _, gone := range []string{"messages_webhook_state", "attempts_tenant"} {
		if slices.Contains(after, gone) {
			t.Errorf("index %s is still there", gone)
		}
	}
	for _, idx := range append(slices.DeleteFunc(before, func(n string) bool {
		return n == "messages_webhook_state" || n == "attempts_tenant"
	}), "messages_failed", "messages_failed_webhook") {
		if !slices.Contains(after, idx) {
			t.Errorf("index %s is missing after the migration: %v", idx, after)
		}
	}
	var check string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}

	for tenant, want := range failedOf {
		ms, err := db.ListMessages(ctx, tenant, hookd.MessageFilter{States: []hookd.MessageState{hookd.StateFailed}})
		if err != nil {
			t.Fatal(err)
		}
		got := make([]string, 0, len(ms))
		for _, m := range ms {
			if m.State != hookd.StateFailed || m.TenantID != tenant {
				t.Errorf("listed as tenant %s's failed: %+v", tenant, m)
			}
			got = append(got, m.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("tenant %s's failed messages: %v, want %v", tenant, got, want)
		}
	}
	if n, err := db.RecoverMessages(ctx, "a", hooks["a"], t0, time.Time{}, t0); err != nil || n != len(failedOf["a"]) {
		t.Fatalf("RecoverMessages = %d, %v; want %d", n, err, len(failedOf["a"]))
	}
	if ms, err := db.ListMessages(ctx, "a", hookd.MessageFilter{States: []hookd.MessageState{hookd.StateFailed}}); err != nil || len(ms) != 0 {
		t.Fatalf("tenant a's failed messages after recovering them: %d, %v", len(ms), err)
	}

	if err := db.DeleteTenant(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	for tenant, want := range map[string]int{"a": 0, "b": 1} {
		var n int
		if err := raw.QueryRow("SELECT count(*) FROM attempts WHERE tenant_id = ?", tenant).Scan(&n); err != nil || n != want {
			t.Errorf("tenant %s's attempts after deleting tenant a: %d, %v; want %d", tenant, n, err, want)
		}
	}
}
