package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/seal"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/sqlstore"
	"github.com/hookd/hookd/internal/storetest"
)

// BenchmarkClaimWithBacklog measures one Claim of 100 due messages and the
// Complete of their outcomes, with no message and with 200k messages
// scheduled for later. The two must cost about the same: Claim reads only
// the due end of the due_at index.
func BenchmarkClaimWithBacklog(b *testing.B) {
	for _, backlog := range []int{0, 200_000} {
		b.Run(fmt.Sprintf("backlog=%d", backlog), func(b *testing.B) {
			ctx := context.Background()
			path := filepath.Join(b.TempDir(), "hookd.db")
			db, err := sqlite.Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "bench"}); err != nil {
				b.Fatal(err)
			}
			w := hookd.NewWebhookDefaults()
			w.TenantID, w.URL, w.EventTypes = "bench", "https://example.com/hook", []string{"*"}
			if err := db.CreateWebhook(ctx, w); err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			if backlog > 0 {
				insertBacklog(b, path, w.ID, backlog, now.Add(24*time.Hour))
			}
			const batch = 100
			evs := make([]hookd.EventInput, batch)
			for i := range evs {
				evs[i] = hookd.EventInput{Type: "Unit.Updated", Payload: json.RawMessage(`{"id":17}`)}
			}
			outs := make([]hookd.Outcome, 0, batch)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				if _, err := db.Publish(ctx, "bench", evs, now); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				ds, err := db.Claim(ctx, now, batch, time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				if len(ds) != batch {
					b.Fatalf("claimed %d, want %d", len(ds), batch)
				}
				outs = outs[:0]
				for _, d := range ds {
					outs = append(outs, hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateSuccessful,
						Attempt: hookd.Attempt{StartedAt: now, StatusCode: 200, Success: true}})
				}
				if err := db.Complete(ctx, outs, now); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// insertBacklog adds n retrying messages due at due straight into the
// database file: going through Publish, Claim and Complete would take the
// benchmark far longer than what it measures.
func insertBacklog(b *testing.B, path, webhookID string, n int, due time.Time) {
	b.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	_, err = raw.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO messages (id, tenant_id, webhook_id, event_id, event_type, event_group, group_key, state,
			attempt_count, tries, next_attempt_at, due_at, created_at, updated_at)
		SELECT printf('msg_backlog%09d', i), 'bench', ?, printf('evt_backlog%09d', i), 'Unit.Updated', '', '',
			'retrying', 1, 1, ? + i, ? + i, ?, ? FROM n`,
		n, webhookID, due.UnixMilli(), due.UnixMilli(), due.UnixMilli(), due.UnixMilli())
	if err != nil {
		b.Fatal(err)
	}
}

// openBench opens a fresh database with tenant "bench" and one webhook for
// every event type.
func openBench(b *testing.B) *sqlite.DB {
	b.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hookd.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "bench"}); err != nil {
		b.Fatal(err)
	}
	w := hookd.NewWebhookDefaults()
	w.TenantID, w.URL, w.EventTypes = "bench", "https://example.com/hook", []string{"*"}
	if err := db.CreateWebhook(ctx, w); err != nil {
		b.Fatal(err)
	}
	return db
}

// benchPayload is about the size of hookd-bench's events.
var benchPayload = json.RawMessage(`{"seq":123456,"t":1795500000000,"pad":"` + strings.Repeat("x", 200) + `"}`)

// BenchmarkPublishConcurrent measures single-event publishing from 32
// concurrent callers (issue 4: at least 5,000 events/s, each durably
// stored before it is answered).
func BenchmarkPublishConcurrent(b *testing.B) {
	const clients = 32
	ctx := context.Background()
	db := openBench(b)
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := processCPU()
	for range clients {
		wg.Go(func() {
			evs := []hookd.EventInput{{Type: "Unit.Updated", Payload: benchPayload}}
			for left.Add(-1) >= 0 {
				if _, err := db.Publish(ctx, "bench", evs, time.Now()); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
}

// BenchmarkPublishBatch measures one Publish of 1000 events (the batch
// endpoint's limit).
func BenchmarkPublishBatch(b *testing.B) {
	const batch = 1000
	ctx := context.Background()
	db := openBench(b)
	evs := make([]hookd.EventInput, batch)
	for i := range evs {
		evs[i] = hookd.EventInput{Type: "Unit.Updated", Payload: benchPayload}
	}
	b.ResetTimer()
	cpu0 := processCPU()
	for range b.N {
		if _, err := db.Publish(ctx, "bench", evs, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
	// The process's CPU (every thread): the writer's cost per event,
	// which varies less than the rate on a shared machine.
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N*batch), "cpu-µs/event")
}

// BenchmarkPublishBatchGrouped measures one Publish of 1000 events in 250
// groups of a grouped webhook (as hookd-bench scenario c publishes them),
// whose groups all have a message already.
func BenchmarkPublishBatchGrouped(b *testing.B) {
	const batch, groups = 1000, 250
	ctx := context.Background()
	db := openBenchGrouped(b)
	evs := make([]hookd.EventInput, batch)
	for i := range evs {
		evs[i] = hookd.EventInput{Type: "Unit.Updated", Payload: benchPayload, Group: fmt.Sprintf("g%d", i%groups)}
	}
	b.ResetTimer()
	cpu0 := processCPU()
	for range b.N {
		if _, err := db.Publish(ctx, "bench", evs, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N*batch), "cpu-µs/event")
}

// openBenchGrouped opens a fresh database with tenant "bench" and one
// grouped webhook for every event type.
func openBenchGrouped(b *testing.B) *sqlite.DB {
	b.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hookd.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "bench"}); err != nil {
		b.Fatal(err)
	}
	w := hookd.NewWebhookDefaults()
	w.TenantID, w.URL, w.EventTypes, w.Grouped = "bench", "https://example.com/hook", []string{"*"}, true
	if err := db.CreateWebhook(ctx, w); err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkComplete measures Complete alone for batches of several sizes,
// on a database that grows by the same 20,000 messages whatever the batch:
// how much of its cost is per transaction (commit, WAL frames) and how
// much per outcome.
func BenchmarkComplete(b *testing.B) {
	const total = 20_000
	for _, batch := range []int{10, 25, 100, 400} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			now := time.Now()
			evs := make([]hookd.EventInput, batch)
			for i := range evs {
				evs[i] = hookd.EventInput{Type: "Unit.Updated", Payload: benchPayload}
			}
			outs := make([]hookd.Outcome, 0, batch)
			var spent, cpu time.Duration
			for range b.N {
				b.StopTimer()
				db := openBench(b)
				for range total / batch {
					if _, err := db.Publish(ctx, "bench", evs, now); err != nil {
						b.Fatal(err)
					}
					ds, err := db.Claim(ctx, now, batch, time.Minute)
					if err != nil || len(ds) != batch {
						b.Fatalf("claimed %d, %v", len(ds), err)
					}
					outs = outs[:0]
					for _, d := range ds {
						outs = append(outs, hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateSuccessful,
							Attempt: hookd.Attempt{StartedAt: now, StatusCode: 200, Success: true}})
					}
					start, cpu0 := time.Now(), processCPU()
					if err := db.Complete(ctx, outs, now); err != nil {
						b.Fatal(err)
					}
					spent += time.Since(start)
					cpu += processCPU() - cpu0
				}
			}
			b.ReportMetric(float64(spent.Microseconds())/float64(b.N*total), "µs/outcome")
			// The process's CPU time (every thread) during Complete: on a
			// machine shared with other work it varies far less than the
			// wall time, which includes waiting for a core.
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*total), "cpu-µs/outcome")
		})
	}
}

// BenchmarkCompleteGrouped measures Complete of outcomes that each
// release the next message of their group (a grouped webhook, one message
// per group in flight, as in hookd-bench scenario c): batch groups, each
// with one message due and one held behind it whenever Claim runs.
func BenchmarkCompleteGrouped(b *testing.B) {
	const total = 20_000
	for _, batch := range []int{25, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			now := time.Now()
			evs := make([]hookd.EventInput, batch)
			for i := range evs {
				evs[i] = hookd.EventInput{Type: "Unit.Updated", Payload: benchPayload, Group: fmt.Sprintf("g%d", i)}
			}
			outs := make([]hookd.Outcome, 0, batch)
			var spent, cpu time.Duration
			for range b.N {
				b.StopTimer()
				db := openBenchGrouped(b)
				if _, err := db.Publish(ctx, "bench", evs, now); err != nil {
					b.Fatal(err)
				}
				for range total / batch {
					// One more message per group, held behind its head.
					if _, err := db.Publish(ctx, "bench", evs, now); err != nil {
						b.Fatal(err)
					}
					ds, err := db.Claim(ctx, now, batch, time.Minute)
					if err != nil || len(ds) != batch {
						b.Fatalf("claimed %d, %v", len(ds), err)
					}
					outs = outs[:0]
					for _, d := range ds {
						outs = append(outs, hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateSuccessful,
							Attempt: hookd.Attempt{StartedAt: now, StatusCode: 200, Success: true}})
					}
					start, cpu0 := time.Now(), processCPU()
					if err := db.Complete(ctx, outs, now); err != nil {
						b.Fatal(err)
					}
					spent += time.Since(start)
					cpu += processCPU() - cpu0
				}
			}
			b.ReportMetric(float64(spent.Microseconds())/float64(b.N*total), "µs/outcome")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*total), "cpu-µs/outcome")
		})
	}
}

// BenchmarkCompleteFailed measures Complete of outcomes that fail their
// messages for good, each of which publishes hookd.message.failed in the
// same transaction (the first also hookd.webhook.failing): with no
// webhook taking them (subscribers=0: the event alone) and with one
// subscribed to hookd.* (an event and a message each).
func BenchmarkCompleteFailed(b *testing.B) {
	const total, batch = 10_000, 25
	for _, subs := range []int{0, 1} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			ctx := context.Background()
			now := time.Now()
			evs := make([]hookd.EventInput, batch)
			for i := range evs {
				evs[i] = hookd.EventInput{Type: "Unit.Updated", Payload: benchPayload}
			}
			outs := make([]hookd.Outcome, 0, batch)
			var spent, cpu time.Duration
			for range b.N {
				b.StopTimer()
				db := openBench(b)
				if subs > 0 {
					w := hookd.NewWebhookDefaults()
					w.TenantID, w.URL, w.EventTypes = "bench", "https://example.com/ops", []string{"hookd.*"}
					if err := db.CreateWebhook(ctx, w); err != nil {
						b.Fatal(err)
					}
					// Suspended, it gets its messages held: the claims
					// below take only the tenant's.
					if _, err := db.SetSuspended(ctx, "bench", w.ID, true, now); err != nil {
						b.Fatal(err)
					}
				}
				for range total / batch {
					if _, err := db.Publish(ctx, "bench", evs, now); err != nil {
						b.Fatal(err)
					}
					ds, err := db.Claim(ctx, now, batch, time.Minute)
					if err != nil || len(ds) != batch {
						b.Fatalf("claimed %d, %v", len(ds), err)
					}
					outs = outs[:0]
					for _, d := range ds {
						outs = append(outs, hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateFailed,
							Attempt: hookd.Attempt{StartedAt: now, StatusCode: 500, Error: hookd.AttemptErrStatus}})
					}
					start, cpu0 := time.Now(), processCPU()
					if err := db.Complete(ctx, outs, now); err != nil {
						b.Fatal(err)
					}
					spent += time.Since(start)
					cpu += processCPU() - cpu0
				}
				if n, err := db.CountMessagesByState(ctx); err != nil || n[hookd.StateFailed] != total {
					b.Fatalf("failed messages: %v, %v", n, err)
				}
			}
			b.ReportMetric(float64(spent.Microseconds())/float64(b.N*total), "µs/outcome")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*total), "cpu-µs/outcome")
		})
	}
}

// BenchmarkClaimParked measures Claim taking parked messages (a dispatcher
// registered that takes none at publish): reading them and their events
// and webhooks, with no write. Each op claims batches of 96 until 9,600
// parked messages are taken.
func BenchmarkClaimParked(b *testing.B) {
	const total, batch = 9_600, 96
	ctx := context.Background()
	now := time.Now()
	evs := make([]hookd.EventInput, total)
	for i := range evs {
		evs[i] = hookd.EventInput{Type: "Unit.Updated", Payload: benchPayload}
	}
	var spent time.Duration
	for range b.N {
		b.StopTimer()
		db := openBench(b)
		db.SetHandoff(storetest.NewFakeHandoff(0, time.Minute))
		if _, err := db.Publish(ctx, "bench", evs, now); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for n := 0; n < total; {
			ds, err := db.Claim(ctx, now, batch, time.Minute)
			if err != nil || len(ds) == 0 {
				b.Fatalf("claimed %d after %d, %v", len(ds), n, err)
			}
			n += len(ds)
		}
		spent += time.Since(start)
	}
	b.ReportMetric(float64(spent.Microseconds())/float64(b.N*total), "µs/msg")
}

// BenchmarkSealedFanOut measures what sealing webhook secrets costs where
// secrets are read on the hot path: a Publish of one event to 100
// webhooks (Publish reads the tenant's webhooks once per transaction) and
// the Claim of its 100 messages, each of another webhook (Claim reads each
// webhook once per call), with and without keys. Every webhook has two
// signing secrets and Basic auth, as after a rotation.
func BenchmarkSealedFanOut(b *testing.B) {
	const hooks = 100
	for _, sealed := range []bool{false, true} {
		b.Run(fmt.Sprintf("sealed=%v", sealed), func(b *testing.B) {
			ctx := context.Background()
			var opts []sqlstore.Option
			if sealed {
				k, _ := seal.NewRandomKey()
				kr, err := seal.NewKeyring(k)
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, sqlstore.WithKeys(kr))
			}
			db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hookd.db"), opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "bench"}); err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			exp := now.Add(time.Hour)
			for i := range hooks {
				w := hookd.NewWebhookDefaults()
				w.TenantID, w.URL, w.EventTypes = "bench", fmt.Sprintf("https://example.com/hook/%d", i), []string{"*"}
				w.Secrets = []hookd.Secret{{Value: hookd.NewSecret(), CreatedAt: now}, {Value: hookd.NewSecret(), CreatedAt: now, ExpiresAt: &exp}}
				w.Auth = &hookd.Auth{Type: hookd.AuthBasic, Username: "hookd", Password: "a-password-of-some-length"}
				if err := db.CreateWebhook(ctx, w); err != nil {
					b.Fatal(err)
				}
			}
			evs := []hookd.EventInput{{Type: "Unit.Updated", Payload: benchPayload}}
			outs := make([]hookd.Outcome, 0, hooks)
			b.ResetTimer()
			for range b.N {
				if _, err := db.Publish(ctx, "bench", evs, now); err != nil {
					b.Fatal(err)
				}
				ds, err := db.Claim(ctx, now, hooks, time.Minute)
				if err != nil || len(ds) != hooks {
					b.Fatalf("Claim = %d, %v", len(ds), err)
				}
				b.StopTimer()
				outs = outs[:0]
				for _, d := range ds {
					outs = append(outs, hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateSuccessful,
						Attempt: hookd.Attempt{StartedAt: now, Success: true, StatusCode: 200}})
				}
				if err := db.Complete(ctx, outs, now); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkCountMessagesByState measures the query behind the hookd_messages
// gauges (one scan of the messages table) and NextDue, behind
// hookd_oldest_due_message_age_seconds, on a store of a million messages:
// 96 % successful, 2 % failed, 1 % retrying, 1 % created.
func BenchmarkCountMessagesByState(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "hookd.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	now := time.Now().UnixMilli()
	_, err = raw.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO messages (id, tenant_id, webhook_id, event_id, event_type, event_group, group_key, state,
			attempt_count, tries, next_attempt_at, due_at, last_attempt_at, last_status_code, created_at, updated_at)
		SELECT printf('msg_01kbench%016d', i), 'tenant' || (i % 50), printf('wh_01kbench%015d', i % 500),
			printf('evt_01kbench%015d', i), 'Unit.Updated', '', '',
			CASE WHEN i % 100 < 96 THEN 'successful' WHEN i % 100 < 98 THEN 'failed'
				WHEN i % 100 < 99 THEN 'retrying' ELSE 'created' END,
			1, 1, CASE WHEN i % 100 >= 98 THEN ? + i END, CASE WHEN i % 100 >= 98 THEN ? + i END,
			?, 200, ? - i, ? - i FROM n`, n, now, now, now, now, now)
	if err != nil {
		b.Fatal(err)
	}
	// As a long-running store's file would be: the rows in the database,
	// not in a WAL of a million pages.
	if _, err := raw.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
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
