package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// BenchmarkClaimComplete measures the delivery engine's store work per
// message, as one node does it: Claim 100 due messages of one webhook,
// then Complete them all successful, on a store where 10,000 more wait.
// The messages are published outside the timer.
func BenchmarkClaimComplete(b *testing.B) {
	ctx := context.Background()
	db := MustOpenDB(b)
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "a", Name: "A"}); err != nil {
		b.Fatal(err)
	}
	w := hookd.NewWebhookDefaults()
	w.TenantID, w.Name, w.URL, w.EventTypes = "a", "w", "https://example.com/", []string{"*"}
	if err := db.CreateWebhook(ctx, w); err != nil {
		b.Fatal(err)
	}
	evs := make([]hookd.EventInput, 1000)
	for i := range evs {
		evs[i] = hookd.EventInput{Type: "t", Payload: json.RawMessage(`{"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)}
	}
	publish := func(n int) {
		for ; n > 0; n -= len(evs) {
			if _, err := db.Publish(ctx, "a", evs, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	}
	publish(10_000)
	const batch = 100
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%10 == 0 {
			b.StopTimer()
			publish(1000) // as many as ten rounds take
			b.StartTimer()
		}
		ds, err := db.Claim(ctx, time.Now(), batch, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		outs := make([]hookd.Outcome, len(ds))
		for j, d := range ds {
			outs[j] = hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateSuccessful,
				Attempt: hookd.Attempt{ID: hookd.NewID(hookd.PrefixAttempt), StartedAt: time.Now(), StatusCode: 200, Success: true}}
		}
		if err := db.Complete(ctx, outs, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batch), "µs/message")
}
