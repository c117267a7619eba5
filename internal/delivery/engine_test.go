package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/metrics"
)

var ctx = context.Background()

func TestDeliverSigned(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	rc := newReceiver(t, nil)
	w := MustWebhook(t, db, rc.URL+"/hooks")
	reg := metrics.NewRegistry()
	StartDispatcher(t, delivery.Config{Store: db, Metrics: reg})
	evs := MustPublish(t, db, "property-12", 7)

	ms := waitStates(t, db, w.ID, 1, hookd.StateSuccessful, 10*time.Second)
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	wh, _ := standardwebhooks.NewWebhook(vecSecret)
	if err := wh.Verify(r.Body, r.Header); err != nil {
		t.Errorf("reference verifier: %v", err)
	}
	ev, err := db.GetEvent(ctx, tenant, evs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"id":%q,"event_id":%q,"type":"Unit.Updated","timestamp":%q,"tenant_id":"acme","group":"property-12","data":{"n":7}}`,
		ms[0].ID, evs[0], ev.CreatedAt.UTC().Format(time.RFC3339Nano))
	if string(r.Body) != want {
		t.Errorf("body\n%s\nwant\n%s", r.Body, want)
	}
	if got := r.Header.Get("webhook-id"); got != ms[0].ID {
		t.Errorf("webhook-id %q, want %q", got, ms[0].ID)
	}
	atts, err := db.ListAttempts(ctx, tenant, ms[0].ID, hookd.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 1 || !atts[0].Success || atts[0].StatusCode != 200 || atts[0].Number != 1 ||
		atts[0].Trigger != hookd.TriggerScheduled {
		t.Errorf("attempts %+v", atts)
	}
	// The counters follow the store's commit by a moment. The message
	// reached the engine either by a Claim or handed off at publish
	// (when the engine's first Claim had already found nothing), never
	// both.
	wantSeries := []string{`hookd_delivery_attempts_total{result="success"} 1`,
		`hookd_delivery_attempts_total{result="http_status"} 0`,
		"hookd_delivery_completed_total 1",
		"hookd_delivery_attempt_duration_seconds_count 1", "hookd_delivery_in_flight 0"}
	var sb strings.Builder
	waitFor(t, 5*time.Second, "metrics", func() bool {
		sb.Reset()
		reg.WriteText(&sb)
		for _, s := range wantSeries {
			if !strings.Contains(sb.String(), s) {
				return false
			}
		}
		claimed := strings.Contains(sb.String(), "hookd_delivery_claimed_total 1\n") &&
			strings.Contains(sb.String(), "hookd_delivery_handed_total 0\n")
		handed := strings.Contains(sb.String(), "hookd_delivery_claimed_total 0\n") &&
			strings.Contains(sb.String(), "hookd_delivery_handed_total 1\n")
		return claimed != handed
	})
}

func TestRetryUntilSuccess(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	var n atomic.Int32
	rc := newReceiver(t, func(r *received, w http.ResponseWriter) int {
		if n.Add(1) <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	w := MustWebhook(t, db, rc.URL, func(w *hookd.Webhook) { w.MaxRetries = 5 })
	StartDispatcher(t, delivery.Config{Store: db, RetrySchedule: []time.Duration{20 * time.Millisecond}})
	MustPublish(t, db, "", 1)

	ms := waitStates(t, db, w.ID, 1, hookd.StateSuccessful, 10*time.Second)
	if ms[0].AttemptCount != 3 {
		t.Errorf("attempt_count %d, want 3", ms[0].AttemptCount)
	}
	reqs := rc.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if r.Header.Get("webhook-id") != ms[0].ID {
			t.Errorf("attempt %d: webhook-id %q, want the message id %q", i+1, r.Header.Get("webhook-id"), ms[0].ID)
		}
		if i > 0 && r.At.Sub(reqs[i-1].At) < 20*time.Millisecond {
			t.Errorf("retry %d came %v after the previous attempt, before the 20ms schedule", i, r.At.Sub(reqs[i-1].At))
		}
	}
	atts, err := db.ListAttempts(ctx, tenant, ms[0].ID, hookd.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 3 || atts[0].Success || atts[0].StatusCode != 500 || atts[0].Error != hookd.AttemptErrStatus ||
		!atts[2].Success || atts[2].Number != 3 {
		t.Errorf("attempts: %+v", atts)
	}
}

func TestFailedAfterMaxRetries(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	rc := newReceiver(t, func(*received, http.ResponseWriter) int { return http.StatusBadGateway })
	w := MustWebhook(t, db, rc.URL, func(w *hookd.Webhook) {
		w.MaxRetries = 2
		w.RetrySchedule = []hookd.Duration{hookd.Duration(5 * time.Millisecond), hookd.Duration(10 * time.Millisecond)}
	})
	StartDispatcher(t, delivery.Config{Store: db, RetrySchedule: []time.Duration{time.Hour}}) // the webhook's schedule wins
	MustPublish(t, db, "", 1)

	ms := waitStates(t, db, w.ID, 1, hookd.StateFailed, 10*time.Second)
	if ms[0].AttemptCount != 3 || ms[0].LastStatusCode != 502 || ms[0].NextAttemptAt != nil {
		t.Errorf("message %+v, want 3 attempts and no next attempt", ms[0])
	}
	time.Sleep(100 * time.Millisecond)
	if n := rc.count(); n != 3 {
		t.Errorf("receiver got %d requests, want 1 + max_retries = 3", n)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	var n atomic.Int32
	rc := newReceiver(t, func(r *received, w http.ResponseWriter) int {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			return http.StatusTooManyRequests
		}
		return http.StatusOK
	})
	w := MustWebhook(t, db, rc.URL)
	StartDispatcher(t, delivery.Config{Store: db, RetrySchedule: []time.Duration{10 * time.Millisecond}})
	MustPublish(t, db, "", 1)

	waitStates(t, db, w.ID, 1, hookd.StateSuccessful, 10*time.Second)
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 990*time.Millisecond {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
}

func TestGroupOrder(t *testing.T) {
	t.Parallel()
	const groups, perGroup = 20, 30
	db := MustOpenDB(t)
	var mu sync.Mutex
	delivered := map[string][]int{} // group → n of the successful deliveries, in order
	seen := map[string]bool{}       // message ids answered 2xx
	rc := newReceiver(t, func(r *received, w http.ResponseWriter) int {
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		if rand.IntN(10) == 0 {
			return http.StatusServiceUnavailable // retried by the 5 ms schedule
		}
		mu.Lock()
		defer mu.Unlock()
		if !seen[r.Msg.ID] {
			seen[r.Msg.ID] = true
			delivered[r.Msg.Group] = append(delivered[r.Msg.Group], r.Msg.Data.N)
		}
		return http.StatusOK
	})
	w := MustWebhook(t, db, rc.URL, func(w *hookd.Webhook) { w.Grouped, w.MaxRetries = true, 10 })
	// Interleave the groups' events, in batches, while the engine runs.
	StartDispatcher(t, delivery.Config{Store: db, Workers: 16, RetrySchedule: []time.Duration{5 * time.Millisecond}})
	for i := range perGroup {
		in := make([]hookd.EventInput, groups)
		for g := range groups {
			in[g] = hookd.EventInput{Type: "Unit.Updated", Group: fmt.Sprintf("g%02d", g),
				Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
		}
		if _, err := db.Publish(ctx, tenant, in, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	waitStates(t, db, w.ID, groups*perGroup, hookd.StateSuccessful, 30*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(delivered) != groups {
		t.Fatalf("%d groups delivered, want %d", len(delivered), groups)
	}
	for g, ns := range delivered {
		if len(ns) != perGroup {
			t.Errorf("group %s: %d delivered, want %d", g, len(ns), perGroup)
		}
		for i, n := range ns {
			if n != i {
				t.Errorf("group %s delivered out of order: %v", g, ns)
				break
			}
		}
	}
}

func TestGroupBlockedByFailure(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	var failFirst atomic.Bool
	failFirst.Store(true)
	rc := newReceiver(t, func(r *received, w http.ResponseWriter) int {
		if r.Msg.Data.N == 1 && failFirst.Load() {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	w := MustWebhook(t, db, rc.URL, func(w *hookd.Webhook) { w.Grouped, w.MaxRetries = true, 0 })
	d := StartDispatcher(t, delivery.Config{Store: db})
	MustPublish(t, db, "g", 1, 2, 3)
	MustPublish(t, db, "other", 10)

	// The first fails for good and blocks 2 and 3; the other group goes on.
	waitFor(t, 10*time.Second, "message 1 failed, other group delivered", func() bool {
		ms := messages(t, db, w.ID)
		return ms[0].State == hookd.StateFailed && ms[3].State == hookd.StateSuccessful
	})
	time.Sleep(100 * time.Millisecond)
	ms := messages(t, db, w.ID)
	if ms[1].State != hookd.StatePending || ms[2].State != hookd.StatePending {
		t.Fatalf("behind a failed message: states %s, %s; want pending", ms[1].State, ms[2].State)
	}
	for _, r := range rc.requests() {
		if r.Msg.Data.N == 2 || r.Msg.Data.N == 3 {
			t.Fatalf("message %d delivered while its group was blocked", r.Msg.Data.N)
		}
	}

	// A manual retry that succeeds unblocks the group, in order.
	failFirst.Store(false)
	if _, err := db.RetryMessage(ctx, tenant, ms[0].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	d.Wake()
	waitStates(t, db, w.ID, 4, hookd.StateSuccessful, 10*time.Second)
	var order []int
	for _, r := range rc.requests() {
		if r.Msg.Group == "g" {
			order = append(order, r.Msg.Data.N)
		}
	}
	if fmt.Sprint(order) != "[1 1 2 3]" {
		t.Errorf("group g attempts in order %v, want [1 1 2 3]", order)
	}
	atts, err := db.ListAttempts(ctx, tenant, ms[0].ID, hookd.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 2 || atts[1].Trigger != hookd.TriggerManual {
		t.Errorf("attempts of the retried message: %+v", atts)
	}
}

func TestGroupContinueOnFailure(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	rc := newReceiver(t, func(r *received, w http.ResponseWriter) int {
		if r.Msg.Data.N == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	w := MustWebhook(t, db, rc.URL, func(w *hookd.Webhook) {
		w.Grouped, w.ContinueOnFailure, w.MaxRetries = true, true, 1
	})
	StartDispatcher(t, delivery.Config{Store: db})
	MustPublish(t, db, "g", 1, 2, 3)
	waitFor(t, 10*time.Second, "group moved on", func() bool {
		ms := messages(t, db, w.ID)
		return ms[0].State == hookd.StateFailed && ms[1].State == hookd.StateSuccessful && ms[2].State == hookd.StateSuccessful
	})
	var order []int
	for _, r := range rc.requests() {
		order = append(order, r.Msg.Data.N)
	}
	if fmt.Sprint(order) != "[1 1 2 3]" {
		t.Errorf("attempts in order %v, want [1 1 2 3]", order)
	}
}

func TestSuspendAndResume(t *testing.T) {
	t.Parallel()
	// Long enough for a few 20 ms retries even on a loaded machine, where
	// one retry took over 300 ms (1 run in 10 under load failed so).
	const suspendAfter = time.Second
	db := MustOpenDB(t)
	var healthy atomic.Bool
	rc := newReceiver(t, func(r *received, w http.ResponseWriter) int {
		if healthy.Load() {
			return http.StatusOK
		}
		return http.StatusInternalServerError
	})
	w := MustWebhook(t, db, rc.URL, func(w *hookd.Webhook) {
		w.Grouped, w.MaxRetries = true, 100
		w.FailureHandling.SuspendAfter = hookd.Duration(suspendAfter)
	})
	d := StartDispatcher(t, delivery.Config{Store: db, RetrySchedule: []time.Duration{20 * time.Millisecond}})
	MustPublish(t, db, "g", 1, 2, 3)
	MustPublish(t, db, "", 4)

	var suspended *hookd.Webhook
	waitFor(t, 10*time.Second, "suspension", func() bool {
		var err error
		if suspended, err = db.GetWebhook(ctx, tenant, w.ID); err != nil {
			t.Fatal(err)
		}
		return suspended.Suspended
	})
	// Not before the failures have lasted suspend_after since the first
	// failed attempt started.
	first := time.Now()
	for _, m := range messages(t, db, w.ID) {
		atts, err := db.ListAttempts(ctx, tenant, m.ID, hookd.Page{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(atts) > 0 && atts[0].StartedAt.Before(first) {
			first = atts[0].StartedAt
		}
	}
	if el := suspended.SuspendedAt.Sub(first); el < suspendAfter {
		t.Errorf("suspended %v after the first failure, before suspend_after %v", el, suspendAfter)
	}
	if n := rc.count(); n < 3 {
		t.Errorf("suspended after %d attempts; a 20 ms schedule makes more in %v", n, suspendAfter)
	}
	// Held: an attempt in flight at the suspension may still land (at most
	// one per message), but nothing is retried while suspended, although
	// the schedule would retry every 20 ms.
	n0 := rc.count()
	time.Sleep(300 * time.Millisecond)
	per := map[string]int{}
	for _, r := range rc.requests()[n0:] {
		if per[r.Msg.ID]++; per[r.Msg.ID] > 1 {
			t.Fatalf("message %d attempted again while suspended", r.Msg.Data.N)
		}
	}
	for _, m := range messages(t, db, w.ID) {
		if m.State != hookd.StatePending {
			t.Errorf("message %s: %s while suspended, want pending", m.ID, m.State)
		}
	}
	n := rc.count()

	healthy.Store(true)
	if _, err := db.SetSuspended(ctx, tenant, w.ID, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	d.Wake()
	waitStates(t, db, w.ID, 4, hookd.StateSuccessful, 10*time.Second)
	var order []int
	for _, r := range rc.requests()[n:] {
		if r.Msg.Group == "g" {
			order = append(order, r.Msg.Data.N)
		}
	}
	if fmt.Sprint(order) != "[1 2 3]" {
		t.Errorf("after unsuspend group g went %v, want [1 2 3]", order)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	const rate, total = 5, 16
	db := MustOpenDB(t)
	limited := newReceiver(t, nil)
	free := newReceiver(t, nil)
	wl := MustWebhook(t, db, limited.URL, func(w *hookd.Webhook) {
		w.RateLimit = rate
		w.EventTypes = []string{"Unit.*"}
	})
	wf := MustWebhook(t, db, free.URL, func(w *hookd.Webhook) { w.EventTypes = []string{"Free.*"} })
	d := StartDispatcher(t, delivery.Config{Store: db, Workers: 4})
	start := time.Now()
	MustPublish(t, db, "", make([]int, total)...)
	in := make([]hookd.EventInput, 50)
	for i := range in {
		in[i] = hookd.EventInput{Type: "Free.Thing", Payload: json.RawMessage(`{}`)}
	}
	if _, err := db.Publish(ctx, tenant, in, time.Now()); err != nil {
		t.Fatal(err)
	}
	d.Wake() // as the API does after a publish; else the engine may find them only at its 5 s poll

	// The webhook without a limit is not held up by the paced one: it is
	// done long before the paced one (which takes 3 s).
	waitStates(t, db, wf.ID, 50, hookd.StateSuccessful, 10*time.Second)
	if n := limited.count(); n >= total-2 {
		t.Errorf("the unlimited webhook finished after %d of %d paced deliveries, held up by them", n, total)
	}
	ms := waitStates(t, db, wl.ID, total, hookd.StateSuccessful, 30*time.Second)
	el := time.Since(start)
	if n := limited.count(); n != total {
		t.Fatalf("%d requests, want %d", n, total)
	}
	// The rule holds for the attempts' starts as hookd records them:
	// never rate+1 in one second. (A receiver sees them later by as much
	// as the network and its scheduling delay each one, which no sender
	// controls: on a loaded machine that broke a check of arrival times.)
	var starts []time.Time
	for _, m := range ms {
		atts, err := db.ListAttempts(ctx, tenant, m.ID, hookd.Page{Limit: 10})
		if err != nil || len(atts) != 1 {
			t.Fatalf("message %s: %d attempts, %v; want 1", m.ID, len(atts), err)
		}
		starts = append(starts, atts[0].StartedAt)
	}
	slices.SortFunc(starts, time.Time.Compare)
	for i := 0; i+rate < len(starts); i++ {
		// Start times are kept to the millisecond: 1 ms of slack.
		if gap := starts[i+rate].Sub(starts[i]); gap < time.Second-time.Millisecond {
			t.Errorf("attempts %d..%d (%d of them) started within %v: more than %d in one second", i, i+rate, rate+1, gap, rate)
		}
	}
	// Spaced evenly, not in bursts, and not stalled.
	if min := time.Duration(total-1) * time.Second / rate; el < min || el > min+10*time.Second {
		t.Errorf("%d deliveries at %d/s took %v, want about %v", total, rate, el, min)
	}
}

func TestDrainOnShutdown(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	arrived := make(chan struct{}, 10)
	rc := newReceiver(t, func(r *received, w http.ResponseWriter) int {
		arrived <- struct{}{}
		time.Sleep(300 * time.Millisecond)
		return http.StatusOK
	})
	w := MustWebhook(t, db, rc.URL)
	d := delivery.New(delivery.Config{Store: db, Policy: loopback, Logger: quiet})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	MustPublish(t, db, "", 1, 2, 3, 4, 5)
	d.Wake()
	for range 5 {
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("attempts did not start")
		}
	}
	cancel() // SIGTERM: stop claiming, finish what is in flight
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Run returned only after every attempt was recorded.
	for _, m := range messages(t, db, w.ID) {
		if m.State != hookd.StateSuccessful {
			t.Errorf("message after drain: %s, want successful", m.State)
		}
	}
	if err := d.Drain(ctx); err != nil {
		t.Errorf("Drain after Run returned: %v", err)
	}
}

func TestDrainDeadline(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	arrived := make(chan struct{}, 10)
	release := make(chan struct{})
	rc := newReceiver(t, func(r *received, w http.ResponseWriter) int {
		arrived <- struct{}{}
		<-release
		return http.StatusOK
	})
	t.Cleanup(func() { close(release) }) // before the receiver closes
	w := MustWebhook(t, db, rc.URL)
	d := delivery.New(delivery.Config{Store: db, Policy: loopback, Logger: quiet})
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	MustPublish(t, db, "", 1)
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("attempt did not start")
	}
	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := d.Drain(dctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain = %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Drain took %v past its 100 ms deadline", el)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	// The cut-off attempt is not recorded: the message stays leased and is
	// attempted again when the lease ends.
	ms := messages(t, db, w.ID)
	if ms[0].State != hookd.StateCreated || ms[0].AttemptCount != 0 {
		t.Errorf("message after an aborted drain: %+v", ms[0])
	}
}

func TestTestAttempt(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	var status atomic.Int32
	status.Store(http.StatusOK)
	rc := newReceiver(t, func(r *received, w http.ResponseWriter) int {
		w.Header().Set("Content-Type", "text/plain")
		return int(status.Load())
	})
	w := MustWebhook(t, db, rc.URL)
	d := delivery.New(delivery.Config{Store: db, Policy: loopback, Logger: quiet}) // Test works without Run

	a, err := d.Test(ctx, w, "", json.RawMessage(`{"hello":"world"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Success || a.StatusCode != 200 || a.Number != 1 || a.Trigger != hookd.TriggerTest || !strings.HasPrefix(a.ID, "att_") {
		t.Errorf("attempt %+v", a)
	}
	r := rc.requests()[0]
	if r.Msg.Type != delivery.TestEventType || !strings.Contains(string(r.Body), `"data":{"hello":"world"}`) {
		t.Errorf("test body %s", r.Body)
	}
	m, err := db.GetMessage(ctx, tenant, a.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != hookd.StateSuccessful || m.AttemptCount != 1 {
		t.Errorf("test message %+v", m)
	}

	// A failed test is recorded as failed and never retried.
	status.Store(http.StatusTeapot)
	a, err = d.Test(ctx, w, "Unit.Checked", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Success || a.StatusCode != http.StatusTeapot || a.Error != hookd.AttemptErrStatus {
		t.Errorf("failed test attempt %+v", a)
	}
	if m, err = db.GetMessage(ctx, tenant, a.MessageID); err != nil {
		t.Fatal(err)
	} else if m.State != hookd.StateFailed || m.NextAttemptAt != nil {
		t.Errorf("failed test message %+v", m)
	}
	atts, err := db.ListAttempts(ctx, tenant, a.MessageID, hookd.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 1 || atts[0].Trigger != hookd.TriggerTest || atts[0].StatusCode != http.StatusTeapot || atts[0].ID != a.ID {
		t.Errorf("recorded test attempts %+v, returned %+v", atts, a)
	}

	if _, err := d.Test(ctx, &hookd.Webhook{TenantID: tenant, ID: "wh_nope"}, "", nil, nil); hookd.ErrorCode(err) != hookd.ENOTFOUND {
		t.Errorf("Test of an unknown webhook: %v, want not_found", err)
	}
}

// A test call's extra headers go over the webhook's own (a name replaces
// the webhook's header of that name whatever its case) for that attempt
// only: the next test and the stored webhook have the webhook's headers.
func TestTestAttemptHeaders(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	rc := newReceiver(t, nil)
	w := MustWebhook(t, db, rc.URL, func(w *hookd.Webhook) {
		w.Headers = map[string][]string{"X-Static": {"kept"}, "X-Over": {"webhook"}}
	})
	d := delivery.New(delivery.Config{Store: db, Policy: loopback, Logger: quiet})

	extra := map[string][]string{"x-over": {"call"}, "X-Extra": {"1", "2"}}
	a, err := d.Test(ctx, w, "", nil, extra)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Success {
		t.Fatalf("attempt %+v", a)
	}
	if _, err := d.Test(ctx, w, "", nil, nil); err != nil {
		t.Fatal(err)
	}
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("the receiver saw %d requests, want 2", len(reqs))
	}
	for i, want := range []http.Header{
		{"X-Static": {"kept"}, "X-Over": {"call"}, "X-Extra": {"1", "2"}},
		{"X-Static": {"kept"}, "X-Over": {"webhook"}, "X-Extra": nil},
	} {
		for name, vals := range want {
			if got := reqs[i].Header.Values(name); !slices.Equal(got, vals) {
				t.Errorf("test %d: %s = %q, want %q", i+1, name, got, vals)
			}
		}
	}
	if extra["x-over"][0] != "call" || len(extra) != 2 || len(w.Headers) != 2 || w.Headers["X-Over"][0] != "webhook" {
		t.Errorf("Test changed its arguments: extra %v, webhook headers %v", extra, w.Headers)
	}
	stored, err := db.GetWebhook(ctx, tenant, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Headers) != 2 || !slices.Equal(stored.Headers["X-Over"], []string{"webhook"}) {
		t.Errorf("stored headers after the test: %v", stored.Headers)
	}
	atts, err := db.ListAttempts(ctx, tenant, a.MessageID, hookd.Page{Limit: 10})
	if err != nil || len(atts) != 1 || atts[0].Trigger != hookd.TriggerTest || !atts[0].Success {
		t.Errorf("recorded attempts %+v, %v", atts, err)
	}
}

// countingStore is the real store with its Claim calls counted.
type countingStore struct {
	hookd.Store
	claims atomic.Int32
}

func (s *countingStore) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*hookd.Delivery, error) {
	s.claims.Add(1)
	return s.Store.Claim(ctx, now, limit, lease)
}

func TestSleepsUntilDueOrWake(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	cs := &countingStore{Store: db}
	var n atomic.Int32
	rc := newReceiver(t, func(r *received, w http.ResponseWriter) int {
		if n.Add(1) == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	w := MustWebhook(t, db, rc.URL)
	d := StartDispatcher(t, delivery.Config{Store: cs, PollInterval: time.Minute,
		RetrySchedule: []time.Duration{300 * time.Millisecond}})

	// Idle: no busy polling.
	time.Sleep(300 * time.Millisecond)
	if c := cs.claims.Load(); c > 2 {
		t.Errorf("%d claims in 300 ms on an idle store", c)
	}
	// A wake is answered without waiting for the poll: the poll interval
	// is a minute, so an attempt well within it was made for the wake.
	// (No tighter bound: on a loaded machine the attempt itself may take
	// hundreds of milliseconds, which says nothing about the engine.)
	MustPublish(t, db, "", 1)
	d.Wake()
	waitFor(t, 20*time.Second, "first attempt after the wake", func() bool { return rc.count() == 1 })
	// The retry is made when it is due, never before, and without a wake
	// or a poll (a minute away).
	waitStates(t, db, w.ID, 1, hookd.StateSuccessful, 20*time.Second)
	reqs := rc.requests()
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 300*time.Millisecond {
		t.Errorf("retry %v after the failure, before its 300ms were up", gap)
	}
	if c := cs.claims.Load(); c > 12 {
		t.Errorf("%d claims for two attempts", c)
	}
}

func TestSweeper(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	rc := newReceiver(t, nil)
	w := MustWebhook(t, db, rc.URL)
	StartDispatcher(t, delivery.Config{Store: db})
	MustPublish(t, db, "", 1, 2, 3, 4, 5)
	waitStates(t, db, w.ID, 5, hookd.StateSuccessful, 10*time.Second)

	s := &delivery.Sweeper{Store: db, Retention: time.Hour, Batch: 2, Now: time.Now}
	if n, err := s.SweepOnce(ctx); err != nil || n != 0 {
		t.Fatalf("sweep within retention: %d, %v", n, err)
	}
	s.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	n, err := s.SweepOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Errorf("swept %d rows, want at least the 5 messages", n)
	}
	if ms := messages(t, db, w.ID); len(ms) != 0 {
		t.Errorf("%d messages left after the sweep", len(ms))
	}
}

func TestSweepInterval(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		retention, want time.Duration
	}{
		{720 * time.Hour, time.Minute},
		{4 * time.Minute, time.Minute},
		{2 * time.Minute, 30 * time.Second},
		{10 * time.Second, 2500 * time.Millisecond},
		{2 * time.Second, time.Second},
		{time.Millisecond, time.Second},
	} {
		if got := delivery.SweepInterval(c.retention); got != c.want {
			t.Errorf("SweepInterval(%v) = %v, want %v", c.retention, got, c.want)
		}
	}
}

// TestSweeperShortRetention runs the sweeper as hookd serve does: with a
// retention of 2 s, delivered messages go within seconds, not after the
// minute that used to separate every two sweeps.
func TestSweeperShortRetention(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	rc := newReceiver(t, nil)
	w := MustWebhook(t, db, rc.URL)
	StartDispatcher(t, delivery.Config{Store: db})
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		delivery.RunSweeper(sctx, db, 2*time.Second, delivery.SweepInterval(2*time.Second), slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() { cancel(); <-done })
	MustPublish(t, db, "", 1, 2, 3)
	waitStates(t, db, w.ID, 3, hookd.StateSuccessful, 10*time.Second)
	// Gone 2 s after their last update plus at most one interval (1 s);
	// the bound leaves a loaded machine room and is still far below the
	// minute of the fixed interval.
	waitFor(t, 30*time.Second, "the sweep of delivered messages", func() bool {
		return len(messages(t, db, w.ID)) == 0
	})
}

// deferringStore is the real store with its DeferMessage replaced by one
// that records the calls.
type deferringStore struct {
	hookd.Store
	mu    sync.Mutex
	calls []deferCall
}

type deferCall struct {
	messageID string
	lease     int64
	due       time.Time
}

func (s *deferringStore) DeferMessage(_ context.Context, messageID string, lease int64, due time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, deferCall{messageID, lease, due})
	return nil
}

func TestRateLimitBeyondLeaseIsDeferred(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	ds := &deferringStore{Store: db}
	rc := newReceiver(t, nil)
	// With the longest timeout and a 1 s lease margin a claimed delivery
	// may wait 0.5 s for its turn; at 2 per second the second one's turn
	// comes after 0.525 s.
	w := MustWebhook(t, db, rc.URL, func(w *hookd.Webhook) { w.RateLimit, w.TimeoutMS = 2, 30000 })
	d := StartDispatcher(t, delivery.Config{Store: ds, Lease: time.Second})
	start := time.Now()
	MustPublish(t, db, "", 1, 2, 3)
	d.Wake() // as the API does after a publish; else a claim made just before waits a poll interval
	waitFor(t, 5*time.Second, "one delivery and two deferrals", func() bool {
		ds.mu.Lock()
		defer ds.mu.Unlock()
		return rc.count() == 1 && len(ds.calls) == 2
	})
	ms := messages(t, db, w.ID)
	ds.mu.Lock()
	defer ds.mu.Unlock()
	for i, c := range ds.calls {
		if c.messageID != ms[i+1].ID || c.lease == 0 {
			t.Errorf("deferral %d: %+v, want message %s with its lease", i, c, ms[i+1].ID)
		}
		if wait := c.due.Sub(start); wait < 500*time.Millisecond || wait > 3*time.Second {
			t.Errorf("deferral %d due %v after publishing, want its turn under the rate limit", i, wait)
		}
	}
	if !ds.calls[1].due.After(ds.calls[0].due) {
		t.Errorf("deferrals due %v and %v, want in order", ds.calls[0].due, ds.calls[1].due)
	}
}

// A webhook whose URL carries an IPv6 zone (stored before such URLs were
// refused at save) is never dialled, even where private targets are
// allowed: the attempt log says blocked_target and the receiver on the
// zoned loopback address sees no connection.
func TestZoneBlockedInAttemptLog(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	rc := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	rc.Listener.Close()
	rc.Listener = ln
	rc.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	rc.Start()
	t.Cleanup(rc.Close)
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	db := MustOpenDB(t)
	w := MustWebhook(t, db, "http://[::1%25lo]:"+port+"/hooks", func(w *hookd.Webhook) { w.MaxRetries = 0 })
	StartDispatcher(t, delivery.Config{Store: db}) // loopback: private targets allowed
	MustPublish(t, db, "", 1)

	ms := waitStates(t, db, w.ID, 1, hookd.StateFailed, 10*time.Second)
	atts, err := db.ListAttempts(ctx, tenant, ms[0].ID, hookd.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 1 || atts[0].Error != hookd.AttemptErrBlockedTarget {
		t.Fatalf("attempts %+v, want one blocked_target", atts)
	}
	// The same address without the zone is dialled: the receiver would
	// have seen the connection.
	if r := newSender(t, loopback).Send(ctx, newDelivery("http://"+ln.Addr().String()+"/")); !r.Attempt.Success {
		t.Fatalf("without the zone: attempt %+v, err %v", r.Attempt, r.Err)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("receiver saw %d connections, want 1 (the one without a zone)", n)
	}
}
