package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/metrics"
	"github.com/hookd/hookd/internal/sqlite"
)

// countedQueue counts the queue gauges' queries of a real store.
type countedQueue struct {
	*sqlite.DB
	queries atomic.Int64
}

func (s *countedQueue) CountMessagesByState(ctx context.Context) (map[hookd.MessageState]int64, error) {
	s.queries.Add(1)
	return s.DB.CountMessagesByState(ctx)
}

func scrape(r *metrics.Registry) string {
	var b strings.Builder
	r.WriteText(&b)
	return b.String()
}

func TestQueueGauges(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	store := &countedQueue{DB: db}
	MustWebhook(t, db, "https://example.com/hook")
	now := time.Now().Truncate(time.Millisecond) // as stored
	clock := now
	reg := metrics.NewRegistry()
	delivery.RegisterQueueGauges(reg, store, time.Minute, func() time.Time { return clock }, slog.New(slog.NewTextHandler(io.Discard, nil)))

	got := scrape(reg)
	for _, want := range []string{
		"# TYPE hookd_messages gauge\n",
		`hookd_messages{state="created"} 0` + "\n",
		`hookd_messages{state="resolved"} 0` + "\n",
		"hookd_oldest_due_message_age_seconds 0\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("empty store: output lacks %q:\n%s", want, got)
		}
	}
	if n := store.queries.Load(); n != 1 {
		t.Fatalf("one scrape of 8 gauges counted %d times, want once", n)
	}

	// Three events published 90 s ago, due since then; one aborted.
	in := []hookd.EventInput{{Type: "a", Payload: json.RawMessage("1")}, {Type: "a", Payload: json.RawMessage("2")}, {Type: "a", Payload: json.RawMessage("3")}}
	res, err := db.Publish(ctx, tenant, in, now.Add(-90*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := db.ListMessages(ctx, tenant, hookd.MessageFilter{EventID: res[2].EventID})
	if err != nil || len(ms) != 1 {
		t.Fatal(ms, err)
	}
	if _, err := db.AbortMessage(ctx, tenant, ms[0].ID, now); err != nil {
		t.Fatal(err)
	}
	// Within the reuse time the figures stay as they were.
	clock = now.Add(30 * time.Second)
	if got := scrape(reg); !strings.Contains(got, `hookd_messages{state="created"} 0`) || store.queries.Load() != 1 {
		t.Fatalf("a scrape within a minute asked the store again (%d counts):\n%s", store.queries.Load(), got)
	}
	clock = now.Add(61 * time.Second)
	got = scrape(reg)
	for _, want := range []string{
		`hookd_messages{state="created"} 2` + "\n",
		`hookd_messages{state="aborted"} 1` + "\n",
		`hookd_messages{state="successful"} 0` + "\n",
		fmt.Sprintf("hookd_oldest_due_message_age_seconds %g\n", (151 * time.Second).Seconds()),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// Per-tenant series exist only when asked for.
func TestPerTenantAttemptCounters(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			t.Parallel()
			db := MustOpenDB(t)
			rc := newReceiver(t, nil)
			w := MustWebhook(t, db, rc.URL+"/hooks")
			reg := metrics.NewRegistry()
			StartDispatcher(t, delivery.Config{Store: db, Metrics: reg, MetricsPerTenant: on})
			MustPublish(t, db, "", 1, 2)
			waitStates(t, db, w.ID, 2, hookd.StateSuccessful, 10*time.Second)
			want := `hookd_tenant_delivery_attempts_total{tenant="acme",result="success"} 2`
			if !on {
				if got := scrape(reg); strings.Contains(got, "hookd_tenant_") {
					t.Fatalf("per-tenant series without the flag:\n%s", got)
				}
				return
			}
			waitFor(t, 5*time.Second, "per-tenant counter", func() bool { return strings.Contains(scrape(reg), want) })
		})
	}
}
