package postgres_test

// Tests of several nodes on one database: stores opened on the same schema
// in one test process, each as a hookd process would use it, claiming,
// completing and publishing at once. They check the rules that rested on
// one writer when every write took the write lock: a claim of one node
// never overlaps another's, a group never has two messages in flight and
// keeps its publish order, an idempotency key names one event, a webhook
// is suspended once, test messages stay out of claims. The end-to-end
// test with hookd processes is e2e.TestThreeNodesOneKilled.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// openNodes opens n stores on one fresh schema, closed when t ends.
func openNodes(t *testing.T, n int) []*postgres.DB {
	t.Helper()
	u := pgtest.FreshURL(t)
	dbs := make([]*postgres.DB, n)
	for i := range dbs {
		db, err := postgres.Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	return dbs
}

// flight watches the deliveries of several engines: which message of each
// group is in flight, how often each message was claimed and completed,
// and in which order each group's messages succeeded.
type flight struct {
	mu         sync.Mutex
	inFlight   map[string]string // group → message id claimed and not yet completed
	holder     map[string]int    // message id → node that holds it
	claims     map[string]int    // message id → times claimed
	successes  map[string]int    // message id → successful outcomes
	order      map[string][]int  // group → event numbers in the order they succeeded
	violations []string
}

func newFlight() *flight {
	return &flight{inFlight: map[string]string{}, holder: map[string]int{}, claims: map[string]int{},
		successes: map[string]int{}, order: map[string][]int{}}
}

func (f *flight) violate(format string, args ...any) {
	if len(f.violations) < 20 {
		f.violations = append(f.violations, fmt.Sprintf(format, args...))
	}
}

// claimed records node's claim of d.
func (f *flight) claimed(node int, d *hookd.Delivery) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := d.Message.ID
	if h, ok := f.holder[id]; ok {
		f.violate("message %s claimed by node %d while node %d holds it", id, node, h)
	}
	f.holder[id] = node
	f.claims[id]++
	if g := d.Message.Group; g != "" && d.Webhook.Grouped {
		key := d.Webhook.ID + "/" + g
		if other, ok := f.inFlight[key]; ok {
			f.violate("group %s: message %s claimed by node %d while %s is in flight", key, id, node, other)
		}
		f.inFlight[key] = id
	}
}

// done records the end of d's attempt, before its outcome is completed:
// once completed, the group's next message may be claimed by another node
// before Complete returns here.
func (f *flight) done(d *hookd.Delivery, success bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.holder, d.Message.ID)
	if g := d.Message.Group; g != "" && d.Webhook.Grouped {
		delete(f.inFlight, d.Webhook.ID+"/"+g)
		if success {
			f.order[d.Webhook.ID+"/"+g] = append(f.order[d.Webhook.ID+"/"+g], eventNumber(d))
		}
	}
	if success {
		f.successes[d.Message.ID]++
	}
}

// eventNumber is the "n" of an event's payload.
func eventNumber(d *hookd.Delivery) int {
	var p struct{ N int }
	_ = json.Unmarshal(d.Event.Payload, &p)
	return p.N
}

// engine claims and completes on db until ctx ends, as a node's delivery
// engine would: outcome decides each delivery's outcome (nil: success).
func engine(ctx context.Context, t *testing.T, node int, db *postgres.DB, f *flight, outcome func(*hookd.Delivery) hookd.MessageState) {
	for ctx.Err() == nil {
		ds, err := db.Claim(ctx, time.Now(), 8, time.Hour)
		if err != nil {
			if ctx.Err() == nil {
				t.Errorf("node %d: Claim: %v", node, err)
			}
			return
		}
		if len(ds) == 0 {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		outs := make([]hookd.Outcome, len(ds))
		for i, d := range ds {
			f.claimed(node, d)
			state := hookd.StateSuccessful
			if outcome != nil {
				state = outcome(d)
			}
			now := time.Now()
			outs[i] = hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: state,
				Attempt: hookd.Attempt{StartedAt: now, DurationMS: 1, StatusCode: 200, Success: state == hookd.StateSuccessful}}
			if state == hookd.StateRetrying {
				outs[i].NextAttemptAt = now
				outs[i].Attempt.StatusCode = 500
			}
			f.done(d, state == hookd.StateSuccessful)
		}
		// Not ctx: an outcome of a claim must be recorded even as the
		// test winds down, or its message stays leased for an hour.
		if err := db.Complete(context.Background(), outs, time.Now()); err != nil {
			t.Errorf("node %d: Complete: %v", node, err)
			return
		}
	}
}

// runEngines runs one engine per store until done reports true, polled,
// or nothing was claimed for 15 seconds (a message left held, which the
// caller's checks then find).
func runEngines(t *testing.T, dbs []*postgres.DB, f *flight, outcome func(*hookd.Delivery) hookd.MessageState, done func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() { engine(ctx, t, i, db, f, outcome) })
	}
	claims, progress := -1, time.Now()
	for !done() && !t.Failed() {
		f.mu.Lock()
		n := 0
		for _, c := range f.claims {
			n += c
		}
		f.mu.Unlock()
		if n != claims {
			claims, progress = n, time.Now()
		} else if time.Since(progress) > 15*time.Second {
			t.Errorf("nothing claimed for 15s after %d claims", claims)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
}

// countMessages returns how many of the tenant's messages are in each
// state.
func countMessages(t *testing.T, db hookd.Store, tenantID string) map[hookd.MessageState]int {
	t.Helper()
	out := map[hookd.MessageState]int{}
	f := hookd.MessageFilter{Page: hookd.Page{Limit: 1000}}
	for {
		ms, err := db.ListMessages(context.Background(), tenantID, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			out[m.State]++
		}
		if len(ms) < f.Page.Limit {
			return out
		}
		f.After = ms[len(ms)-1].ID
	}
}

// Two and three nodes publish to groups and deliver them at once: every
// message is claimed by one node at a time and succeeds once, a group
// never has two messages in flight, and each group's events succeed in
// the order they were published, though each was published through
// another node than the one before it and some attempts fail and are
// retried.
func TestNodesKeepGroupOrder(t *testing.T) {
	t.Parallel()
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d nodes", n), func(t *testing.T) {
			t.Parallel()
			testNodesKeepGroupOrder(t, n)
		})
	}
}

func testNodesKeepGroupOrder(t *testing.T, nodes int) {
	dbs := openNodes(t, nodes)
	ctx := context.Background()
	mustTenantAndWebhook(t, dbs[0], "flat", "https://example.com/flat")
	g := hookd.NewWebhookDefaults()
	g.TenantID, g.Name, g.URL, g.EventTypes, g.Grouped = "a", "grouped", "https://example.com/grouped", []string{"*"}, true
	if err := dbs[1].CreateWebhook(ctx, g); err != nil {
		t.Fatal(err)
	}

	const groups, perGroup, contended = 12, 12, 8
	var published atomic.Int64
	var pubWG sync.WaitGroup
	publish := func(db *postgres.DB, group string, n int) {
		in := hookd.EventInput{Type: "t", Group: group, Payload: json.RawMessage(fmt.Sprintf(`{"n": %d}`, n))}
		if _, err := db.Publish(ctx, "a", []hookd.EventInput{in}, time.Now()); err != nil {
			t.Errorf("Publish: %v", err)
			return
		}
		published.Add(1)
	}
	// Each ordered group has one publisher, which publishes its events
	// one after the other, each through the next node.
	for gi := range groups {
		pubWG.Go(func() {
			for n := 1; n <= perGroup; n++ {
				publish(dbs[(gi+n)%len(dbs)], fmt.Sprintf("g%02d", gi), n)
			}
		})
	}
	// A contended group gets events from every node at once: their order
	// is whichever committed first, but still one at a time in flight.
	for ci := range contended {
		for ni := range dbs {
			pubWG.Go(func() {
				for n := 1; n <= perGroup; n++ {
					publish(dbs[ni], fmt.Sprintf("c%d", ci), 1000*ni+n)
				}
			})
		}
	}
	want := int64(groups*perGroup + contended*len(dbs)*perGroup)
	f := newFlight()
	var fails atomic.Int64
	outcome := func(d *hookd.Delivery) hookd.MessageState {
		if rand.IntN(5) == 0 && fails.Add(1) < 400 {
			return hookd.StateRetrying
		}
		return hookd.StateSuccessful
	}
	pubsDone := make(chan struct{})
	go func() { pubWG.Wait(); close(pubsDone) }()
	runEngines(t, dbs, f, outcome, func() bool {
		select {
		case <-pubsDone:
		default:
			return false
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		return int64(len(f.successes)) == 2*want // a message for each webhook
	})
	<-pubsDone
	if got := published.Load(); got != want {
		t.Fatalf("%d events published, want %d", got, want)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.violations {
		t.Error(v)
	}
	for id, n := range f.successes {
		if n != 1 {
			t.Errorf("message %s succeeded %d times", id, n)
		}
	}
	for gi := range groups {
		key := g.ID + "/" + fmt.Sprintf("g%02d", gi)
		got := f.order[key]
		for i, n := range got {
			if n != i+1 {
				t.Errorf("group %s succeeded in order %v, want 1..%d", key, got, perGroup)
				break
			}
		}
		if len(got) != perGroup {
			t.Errorf("group %s: %d of %d succeeded", key, len(got), perGroup)
		}
	}
	if got := countMessages(t, dbs[nodes-1], "a"); got[hookd.StateSuccessful] != int(2*want) || len(got) != 1 {
		t.Errorf("messages by state %v, want %d successful", got, 2*want)
	}
}

// Two and three nodes, two engines each, claim the same due messages at
// once: each message is leased by exactly one claim.
func TestNodesClaimEachMessageOnce(t *testing.T) {
	t.Parallel()
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d nodes", n), func(t *testing.T) {
			t.Parallel()
			testNodesClaimEachMessageOnce(t, n)
		})
	}
}

func testNodesClaimEachMessageOnce(t *testing.T, nodes int) {
	dbs := openNodes(t, nodes)
	ctx := context.Background()
	mustTenantAndWebhook(t, dbs[0], "w", "https://example.com/")
	const total = 1500
	evs := make([]hookd.EventInput, 100)
	for i := range evs {
		evs[i] = hookd.EventInput{Type: "t", Payload: json.RawMessage(`1`)}
	}
	for range total / len(evs) {
		if _, err := dbs[0].Publish(ctx, "a", evs, t0); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claims := map[string]int{}
	var wg sync.WaitGroup
	for i := range 2 * len(dbs) {
		db := dbs[i%len(dbs)]
		wg.Go(func() {
			for {
				ds, err := db.Claim(ctx, t0.Add(time.Second), 7, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					claims[d.Message.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claims) != total {
		t.Errorf("%d messages claimed, want %d", len(claims), total)
	}
	for id, n := range claims {
		if n != 1 {
			t.Errorf("message %s claimed %d times", id, n)
		}
	}
}

// Three nodes publish events with the same idempotency keys at once: each
// key stores one event, and every call answers with its id.
func TestNodesShareIdempotencyKeys(t *testing.T) {
	t.Parallel()
	dbs := openNodes(t, 3)
	ctx := context.Background()
	mustTenantAndWebhook(t, dbs[0], "w", "https://example.com/")
	const keys = 40
	var mu sync.Mutex
	ids := map[string]map[string]bool{} // key → event ids answered
	firsts := map[string]int{}          // key → answers that were not duplicates
	var wg sync.WaitGroup
	for ni, db := range dbs {
		wg.Go(func() {
			for _, k := range rand.Perm(keys) {
				key := fmt.Sprintf("key-%d", k)
				in := hookd.EventInput{Type: "t", IdempotencyKey: key, Payload: json.RawMessage(fmt.Sprint(k))}
				res, err := db.Publish(ctx, "a", []hookd.EventInput{in}, time.Now())
				if err != nil {
					t.Errorf("node %d: Publish %s: %v", ni, key, err)
					return
				}
				mu.Lock()
				if ids[key] == nil {
					ids[key] = map[string]bool{}
				}
				ids[key][res[0].EventID] = true
				if !res[0].Duplicate {
					firsts[key]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for k := range keys {
		key := fmt.Sprintf("key-%d", k)
		if len(ids[key]) != 1 || firsts[key] != 1 {
			t.Errorf("key %s: events %v, %d first answers; want one event, answered first once", key, ids[key], firsts[key])
		}
	}
	evs, err := dbs[1].ListEvents(ctx, "a", hookd.EventFilter{Page: hookd.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != keys {
		t.Errorf("%d events stored, want %d", len(evs), keys)
	}
	if got := countMessages(t, dbs[2], "a"); got[hookd.StateCreated] != keys {
		t.Errorf("messages by state %v, want %d created", got, keys)
	}
}

// Three nodes fail a webhook's deliveries at once until its failure streak
// suspends it: it is suspended once (one transition says so), its streak's
// start and its suspension are announced once each, and then no message
// of it is left claimable.
func TestNodesSuspendOnce(t *testing.T) {
	t.Parallel()
	dbs := openNodes(t, 3)
	ctx := context.Background()
	if err := dbs[0].CreateTenant(ctx, &hookd.Tenant{ID: "a", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	w := hookd.NewWebhookDefaults()
	w.TenantID, w.Name, w.URL, w.EventTypes = "a", "failing", "https://example.com/", []string{"*"}
	w.FailureHandling.SuspendAfter = hookd.Duration(50 * time.Millisecond)
	if err := dbs[0].CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var suspensions []hookd.Transition
	for _, db := range dbs {
		db.SetObserver(func(ts []hookd.Transition) {
			mu.Lock()
			defer mu.Unlock()
			for _, tr := range ts {
				if tr.Suspended {
					suspensions = append(suspensions, tr)
				}
			}
		})
	}
	evs := make([]hookd.EventInput, 100)
	for i := range evs {
		evs[i] = hookd.EventInput{Type: "t", Payload: json.RawMessage(`1`)}
	}
	for range 6 {
		if _, err := dbs[0].Publish(ctx, "a", evs, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	f := newFlight()
	var idle atomic.Int64 // polls in a row that found the webhook suspended and nothing due
	runEngines(t, dbs, f, func(*hookd.Delivery) hookd.MessageState { return hookd.StateRetrying }, func() bool {
		got, err := dbs[0].GetWebhook(ctx, "a", w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Suspended {
			return false
		}
		return idle.Add(1) > 20 // every attempt in flight at the suspension has ended
	})
	got, err := dbs[1].GetWebhook(ctx, "a", w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Suspended || got.SuspendedAt == nil || got.FailingSince == nil {
		t.Errorf("webhook suspended %v at %v, failing since %v; want suspended, both set", got.Suspended, got.SuspendedAt, got.FailingSince)
	}
	mu.Lock()
	if len(suspensions) != 1 {
		t.Errorf("%d transitions suspended the webhook, want 1: %+v", len(suspensions), suspensions)
	}
	mu.Unlock()
	// The operational events: one for the streak's start, one for the
	// suspension, whichever node's outcome caused them (events of no
	// subscribed webhook: stored, with no message).
	for _, typ := range []string{hookd.EventWebhookFailing, hookd.EventWebhookSuspended} {
		evs, err := dbs[2].ListEvents(ctx, "a", hookd.EventFilter{Type: typ, Page: hookd.Page{Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 {
			t.Errorf("%d events %s, want 1", len(evs), typ)
		}
	}
	states := countMessages(t, dbs[2], "a")
	if states[hookd.StateCreated]+states[hookd.StateRetrying] != 0 || states[hookd.StatePending] != 600 {
		t.Errorf("messages by state %v, want all 600 pending (held)", states)
	}
	for i, db := range dbs {
		if ds, err := db.Claim(ctx, time.Now().Add(time.Minute), 10, time.Hour); err != nil || len(ds) != 0 {
			t.Errorf("node %d claimed %d messages of a suspended webhook (%v)", i, len(ds), err)
		}
	}
}

// Test messages made on three nodes while they publish and deliver get
// seqs of their own (no insert fails) and are never claimed.
func TestNodesTestMessages(t *testing.T) {
	t.Parallel()
	dbs := openNodes(t, 3)
	ctx := context.Background()
	w := mustTenantAndWebhook(t, dbs[0], "w", "https://example.com/")
	var mu sync.Mutex
	tests := map[string]bool{}
	var wg sync.WaitGroup
	for ni, db := range dbs {
		wg.Go(func() {
			for range 20 {
				d, err := db.CreateTestMessage(ctx, "a", w.ID, hookd.EventInput{Type: "t", Payload: json.RawMessage(`1`)}, time.Now())
				if err != nil {
					t.Errorf("node %d: CreateTestMessage: %v", ni, err)
					return
				}
				mu.Lock()
				tests[d.Message.ID] = true
				mu.Unlock()
				if _, err := db.Publish(ctx, "a", []hookd.EventInput{{Type: "t", Payload: json.RawMessage(`2`)}}, time.Now()); err != nil {
					t.Errorf("node %d: Publish: %v", ni, err)
					return
				}
			}
		})
	}
	f := newFlight()
	pubsDone := make(chan struct{})
	go func() { wg.Wait(); close(pubsDone) }()
	runEngines(t, dbs, f, nil, func() bool {
		select {
		case <-pubsDone:
		default:
			return false
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.claims) >= 3*20
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	for id := range f.claims {
		if tests[id] {
			t.Errorf("test message %s was claimed", id)
		}
	}
	if len(tests) != 3*20 || len(f.claims) != 3*20 {
		t.Errorf("%d test messages made, %d messages claimed; want 60 each", len(tests), len(f.claims))
	}
}
