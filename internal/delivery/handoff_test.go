package delivery_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/metrics"
	"github.com/hookd/hookd/internal/sqlite"
)

// claimCounter is the SQLite store (a hookd.HandoffStore) with the messages
// Claim returned counted.
type claimCounter struct {
	*sqlite.DB
	claimed atomic.Int64
}

func (s *claimCounter) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*hookd.Delivery, error) {
	ds, err := s.DB.Claim(ctx, now, limit, lease)
	s.claimed.Add(int64(len(ds)))
	return ds, err
}

// waitTakesHandoffs waits until the dispatcher takes handed-off messages:
// Reserve(0) answers with a lease only then.
func waitTakesHandoffs(t *testing.T, d *delivery.Dispatcher) {
	t.Helper()
	waitFor(t, 5*time.Second, "the dispatcher to take handoffs", func() bool {
		_, lease := d.Reserve(0)
		return lease > 0
	})
}

// Messages published while the dispatcher is caught up reach it leased at
// publish: they are delivered without a Claim and without a Wake (the poll
// interval here is an hour), and their outcomes are recorded.
func TestHandoffDeliversWithoutClaim(t *testing.T) {
	t.Parallel()
	db := &claimCounter{DB: MustOpenDB(t)}
	rc := newReceiver(t, nil)
	w := MustWebhook(t, db, rc.URL)
	reg := metrics.NewRegistry()
	d := StartDispatcher(t, delivery.Config{Store: db, PollInterval: time.Hour, Metrics: reg})
	waitTakesHandoffs(t, d)
	for i := range 20 {
		MustPublish(t, db, "", i)
	}
	waitStates(t, db, w.ID, 20, hookd.StateSuccessful, 10*time.Second)
	if n := rc.count(); n != 20 {
		t.Fatalf("receiver got %d requests, want 20", n)
	}
	if n := db.claimed.Load(); n != 0 {
		t.Fatalf("Claim returned %d messages, want 0: every message was handed off", n)
	}
	var sb strings.Builder
	reg.WriteText(&sb)
	for _, want := range []string{"hookd_delivery_handed_total 20", "hookd_delivery_claimed_total 0"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, sb.String())
		}
	}
}

// While older messages wait, the dispatcher takes no handoff, so a fresh
// message does not overtake them; everything is still delivered.
func TestHandoffRefusedWhileBehind(t *testing.T) {
	t.Parallel()
	db := &claimCounter{DB: MustOpenDB(t)}
	unblock := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(unblock) }) }
	rc := newReceiver(t, func(*received, http.ResponseWriter) int {
		<-unblock
		return http.StatusOK
	})
	t.Cleanup(release) // before the receiver's Close, which waits for its handlers
	w := MustWebhook(t, db, rc.URL)
	const backlog = 30
	for i := range backlog {
		MustPublish(t, db, "", i)
	}
	d := StartDispatcher(t, delivery.Config{Store: db, Workers: 2, PollInterval: 50 * time.Millisecond})
	// The first claim fills the window (2 workers, 6 deliveries) and finds
	// more due: the dispatcher is behind until the backlog is claimed. (A
	// webhook none of whose attempts has ended yet counts only its window
	// of 4 queued deliveries, so a second claim may take 2 more.)
	waitFor(t, 5*time.Second, "the first claim", func() bool { return db.claimed.Load() >= 6 })
	if n, _ := d.Reserve(1); n != 0 {
		t.Fatalf("Reserve(1) = %d while %d older messages wait, want 0", n, backlog-db.claimed.Load())
	}
	MustPublish(t, db, "", backlog)
	release()
	waitStates(t, db, w.ID, backlog+1, hookd.StateSuccessful, 10*time.Second)
	if n := db.claimed.Load(); n != backlog+1 {
		t.Fatalf("Claim returned %d messages, want all %d", n, backlog+1)
	}
}

// A delivery handed over after the dispatcher stopped is given back due
// now, not left leased until its lease ends.
func TestHandoffAfterStopGivenBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	rc := newReceiver(t, nil)
	MustWebhook(t, db, rc.URL)
	d := delivery.New(delivery.Config{Store: db, Policy: loopback, Logger: quiet})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	waitTakesHandoffs(t, d)
	if n, _ := d.Reserve(1); n != 1 {
		t.Fatalf("Reserve(1) = %d, want 1", n)
	}
	// The dispatcher no longer takes handoffs once it stopped, so the
	// store is left to lease a message itself.
	if err := d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	MustPublish(t, db, "", 1)
	ds, err := db.Claim(ctx, time.Now(), 10, time.Hour)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Claim = %d, %v; want the message, published with no handoff", len(ds), err)
	}
	d.Deliver(ds)
	again, err := db.Claim(ctx, time.Now(), 10, time.Hour)
	if err != nil || len(again) != 1 || again[0].Message.ID != ds[0].Message.ID {
		t.Fatalf("Claim after the late Deliver = %d, %v; want the message given back, due now", len(again), err)
	}
	if rc.count() != 0 {
		t.Fatalf("receiver got %d requests after the stop, want 0", rc.count())
	}
}
