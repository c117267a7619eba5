// Package delivery is hookd's delivery engine: it claims due messages from
// the store, signs and POSTs them to their webhooks (Sender, Signer),
// decides what follows a failed attempt (RetryPolicy), records every
// outcome in group commits, paces webhooks with a rate limit, and sweeps
// old data (Sweeper). Every rule of ordering, holding and suspension is
// hookd's state machine (hookd.ApplyOutcome and friends), which the store
// applies to the rows it holds in Claim and Complete; the engine only
// decides outcomes, keeps time, and shares its workers fairly among
// tenants and webhooks, bounding each webhook's attempts in flight
// (fair.go).
package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/metrics"
	"github.com/hookd/hookd/internal/netguard"
)

// Defaults of Config.
const (
	DefaultWorkers      = 32
	DefaultLeaseMargin  = 30 * time.Second
	DefaultPollInterval = 5 * time.Second
)

// maxTimeout is the longest webhook timeout (timeout_ms ≤ 30000): every
// claim's lease covers it plus the margin.
const maxTimeout = 30 * time.Second

// Store is what the dispatcher asks of the store: the delivery calls, and
// ListAttempts, with which Test answers with the attempt as stored. A
// store that is also a hookd.HandoffStore gets fresh messages handed to
// the dispatcher as they are published (see handoff.go).
type Store interface {
	hookd.DeliveryStore
	ListAttempts(ctx context.Context, tenantID, messageID string, p hookd.Page) ([]*hookd.Attempt, error)
}

// Config configures a Dispatcher. Store is required.
type Config struct {
	Store Store
	// Policy is enforced on every dial (nil: no http, no private targets).
	Policy *netguard.Policy
	// Workers is how many attempts run at once (default DefaultWorkers).
	Workers int
	// MaxInFlight is the bound on one webhook's attempts at once for a
	// webhook whose max_in_flight is null (default DefaultMaxInFlight).
	// See fair.go for how workers are shared.
	MaxInFlight int
	// RetrySchedule is the server's default retry schedule
	// (--retry-schedule; nil: hookd.DefaultRetrySchedule).
	RetrySchedule []time.Duration
	// Lease is the margin added to the longest webhook timeout (30 s) to
	// lease a claimed message: it covers waiting for a rate limit slot and
	// recording the outcome (default DefaultLeaseMargin).
	Lease time.Duration
	// PollInterval is the longest the dispatcher sleeps without asking the
	// store for due work, a safety net for wakes it could not be told
	// about (default DefaultPollInterval). Normally it sleeps until
	// NextDue or a Wake.
	PollInterval time.Duration
	// Now is the clock of claims, outcomes and signatures (default
	// time.Now). Pacing and timeouts use the real clock.
	Now func() time.Time
	// Logger receives store errors and given-back deliveries (default
	// slog.Default()).
	Logger *slog.Logger
	// Metrics, if set, gets the engine's series (hookd_delivery_*).
	Metrics *metrics.Registry
	// MetricsPerTenant adds hookd_tenant_delivery_attempts_total, a series
	// per tenant and result (--metrics-per-tenant): off by default, as
	// the series grow with the tenants.
	MetricsPerTenant bool
}

// Dispatcher is the delivery engine: Run claims due messages, attempts them
// on a bounded pool of workers and completes their outcomes in batches.
type Dispatcher struct {
	store        Store
	sender       *Sender
	retry        RetryPolicy
	workers      int
	lease        time.Duration
	margin       time.Duration
	pollInterval time.Duration
	now          func() time.Time
	log          *slog.Logger
	m            *engineMetrics

	ho     handoff       // messages leased to the dispatcher at publish, see handoff.go
	starts starts        // when rate-limited webhooks' last attempts started, see pacer.go
	sched  sched         // deliveries waiting for a worker and attempts running, see fair.go
	backs  backs         // deliveries the fair queue hands back, see giveBackHeld
	wake   chan struct{} // a Wake happened (capacity 1)
	freed  chan struct{} // a delivery left the window (capacity 1)

	started  atomic.Bool
	stop     chan struct{} // closed by Drain: stop claiming
	stopOnce sync.Once
	done     chan struct{} // closed when Run returns
	// attemptCtx is the context of attempts and of recording them;
	// cancelled when a Drain's deadline passes.
	attemptCtx context.Context
	abort      context.CancelFunc
}

// New returns a dispatcher for cfg; call Run to start it.
func New(cfg Config) *Dispatcher {
	d := &Dispatcher{
		store:        cfg.Store,
		retry:        RetryPolicy{Schedule: cfg.RetrySchedule},
		workers:      cfg.Workers,
		margin:       cfg.Lease,
		pollInterval: cfg.PollInterval,
		now:          cfg.Now,
		log:          cfg.Logger,
		wake:         make(chan struct{}, 1),
		freed:        make(chan struct{}, 1),
		stop:         make(chan struct{}),
		done:         make(chan struct{}),
	}
	if d.workers <= 0 {
		d.workers = DefaultWorkers
	}
	if d.margin <= 0 {
		d.margin = DefaultLeaseMargin
	}
	d.lease = maxTimeout + d.margin
	if d.pollInterval <= 0 {
		d.pollInterval = DefaultPollInterval
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	d.sender = NewSender(cfg.Policy, d.workers, d.now)
	d.attemptCtx, d.abort = context.WithCancel(context.Background())
	d.sched.q = newFairQueue(d.workers, cfg.MaxInFlight)
	d.sched.cond = sync.NewCond(&d.sched.mu)
	d.m = newEngineMetrics(cfg.Metrics, d.sched.gauges)
	d.m.countPerTenant(cfg.Metrics, cfg.MetricsPerTenant)
	return d
}

// Wake tells the dispatcher that work may have become due (a publish, a
// retry, a recover, an unsuspend), so it asks the store now rather than at
// its next planned time. It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// job is a claimed delivery on its way to a worker.
type job struct {
	d *hookd.Delivery
	// deadline is the latest real time at which the attempt may start and
	// still be recorded within its lease.
	deadline time.Time
}

// Run delivers until ctx ends or Drain is called, then stops claiming,
// gives back the claimed deliveries no worker has started (due now), lets
// the attempts in flight finish, records their outcomes and returns nil.
// Store errors are logged and retried, never returned. Run may be called
// once.
func (d *Dispatcher) Run(ctx context.Context) error {
	if !d.started.CompareAndSwap(false, true) {
		return errors.New("delivery: Run called more than once")
	}
	defer close(d.done)
	defer d.abort()

	results := make(chan *hookd.Outcome, 3*d.workers)
	var wg sync.WaitGroup
	for range d.workers {
		wg.Go(func() {
			for {
				j, ok := d.sched.take()
				if !ok {
					return
				}
				o, res := d.work(j)
				d.finish(j, res)
				select {
				case d.freed <- struct{}{}:
				default:
				}
				if o != nil {
					results <- o
				}
			}
		})
	}
	completed := make(chan struct{})
	go func() {
		defer close(completed)
		d.completeLoop(results)
	}()
	d.backs.wake = make(chan struct{}, 1)
	handedBack := make(chan struct{})
	go func() {
		defer close(handedBack)
		d.handBackLoop()
	}()

	closeHandoff := d.openHandoff()
	d.loop(ctx)
	closeHandoff()
	d.stopOnce.Do(func() { close(d.stop) })
	d.sched.close() // the workers take nothing more

	wg.Wait()
	// Give back what waited for a worker, due now.
	d.sched.mu.Lock()
	left := d.sched.q.drain(time.Now())
	held := d.sched.q.takeGiveBacks()
	d.sched.mu.Unlock()
	for _, j := range left {
		d.giveBack(j, d.now())
	}
	d.giveBackHeld(held)
	d.backs.close()
	<-handedBack
	close(results)
	<-completed
	d.sender.CloseIdleConnections()
	return nil
}

// Drain stops claiming and waits until Run has finished the attempts in
// flight and recorded them. When ctx ends first, the attempts still running
// are cancelled and not recorded (their messages become due again when
// their leases end) and Drain returns ctx.Err() once Run has returned.
// Calling Drain without Run, or twice, is harmless.
func (d *Dispatcher) Drain(ctx context.Context) error {
	d.stopOnce.Do(func() { close(d.stop) })
	if !d.started.Load() {
		return nil
	}
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
		d.abort()
		<-d.done
		return ctx.Err()
	}
}

// loop claims and dispatches until ctx ends or Drain is called. It claims
// as soon as half the workers' worth of the window is free, as much as
// fills the window, so the queue in front of the workers never runs dry
// while a Claim waits for the writer; claims come at once when idle.
//
// The window (see sched.room) is three times the workers' deliveries
// claimed and not yet attempted to the end: the workers' and a queue
// twice as long, so that a worker finds its next delivery waiting while
// the next claim runs (a Claim waits for the writer and took 6–10 ms
// under load, while 64 workers finished 50–80 attempts). A webhook counts
// in it only up to its bound while it is slow (fair.go), so that its backlog
// does not stop the claims that find the others' messages.
func (d *Dispatcher) loop(ctx context.Context) {
	p := &pacer{queues: map[string]*paceQueue{}}
	defer p.giveBackAll(d)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var idle, errDelay time.Duration
	claimAt := max(d.workers/2, 1)
	forgetAt := time.Now().Add(time.Minute)
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.stop:
			return
		default:
		}
		d.sched.mu.Lock()
		held := d.sched.q.takeGiveBacks()
		if now := time.Now(); now.After(forgetAt) {
			d.sched.q.forget(now.Add(-10 * time.Minute))
			forgetAt = now.Add(time.Minute)
		}
		d.sched.mu.Unlock()
		d.giveBackHeld(held)
		handed, reserved := d.takeHanded()
		if len(handed) > 0 {
			d.m.handed(len(handed))
			leasedAt := time.Now()
			for _, dl := range handed {
				p.admit(d, job{d: dl, deadline: d.holdDeadline(dl, leasedAt)})
			}
		}
		free := d.sched.room(3*d.workers) - reserved
		if free > 0 {
			free -= p.dispatchReady(d, free)
		}
		wait := d.pollInterval
		claim := free >= claimAt
		if claim && d.caughtUp() {
			// The last Claim found everything due, and fresh messages are
			// handed off: ask the read pool whether anything is due
			// before taking the writer for a Claim (a publish wakes the
			// loop even when its messages were handed off).
			if next, ok, err := d.store.NextDue(ctx); err == nil {
				if now := d.now(); !ok {
					claim = false
				} else if next.After(now) {
					claim, wait = false, next.Sub(now)
				}
			}
		}
		if claim {
			ds, err := d.store.Claim(ctx, d.now(), free, d.lease)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				errDelay = backoff(errDelay)
				wait = errDelay
				d.log.Error("delivery: claim due messages", "err", err, "retry_in", errDelay)
			} else {
				errDelay = 0
				d.m.claimed(len(ds))
				asked := free
				d.setCaughtUp(len(ds) < asked)
				claimedAt := time.Now()
				for _, dl := range ds {
					j := job{d: dl, deadline: d.holdDeadline(dl, claimedAt)}
					if p.admit(d, j) {
						free--
					}
				}
				if len(ds) == asked {
					continue // more may be due
				}
				next, ok, err := d.store.NextDue(ctx)
				switch {
				case err != nil:
					if ctx.Err() != nil {
						return
					}
					errDelay = backoff(errDelay)
					wait = errDelay
					d.log.Error("delivery: find next due message", "err", err, "retry_in", errDelay)
				case ok:
					if wait = next.Sub(d.now()); wait <= 0 {
						if len(ds) > 0 {
							continue
						}
						// Due by the store's word, yet nothing to claim:
						// back off instead of spinning.
						idle = min(max(2*idle, time.Millisecond), time.Second)
						wait = idle
					} else {
						idle = 0
					}
				}
			}
		}
		if t, ok := p.nextReady(); ok && free > 0 {
			wait = min(wait, time.Until(t))
		}
		timer.Reset(max(min(wait, d.pollInterval), 0))
		select {
		case <-ctx.Done():
			return
		case <-d.stop:
			return
		case <-d.wake:
			idle = 0
		case <-d.freed:
		case <-timer.C:
		}
	}
}

// holdDeadline is the latest time a delivery claimed at claimedAt may start
// its attempt: the attempt and its recording must end within the lease,
// with half the margin to spare.
func (d *Dispatcher) holdDeadline(dl *hookd.Delivery, claimedAt time.Time) time.Time {
	timeout := time.Duration(dl.Webhook.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = hookd.DefaultTimeoutMS * time.Millisecond
	}
	return claimedAt.Add(d.lease - timeout - d.margin/2)
}

// dispatch queues j for a worker (fair.go).
func (d *Dispatcher) dispatch(j job) { d.sched.push(j) }

// backs is the queue of deliveries to hand back that giveBackHeld fills
// and handBackLoop empties: handing back a slow webhook's backlog takes a
// store write each, thousands when a circuit opens, which must not hold
// up the loop (and the fresh messages it takes from the handoff).
type backs struct {
	mu     sync.Mutex
	items  []heldBack
	closed bool
	wake   chan struct{} // capacity 1
}

func (b *backs) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// giveBackHeld queues for handing back the deliveries the fair queue
// could not start within their leases, each due when its turn is
// expected.
func (d *Dispatcher) giveBackHeld(held []heldBack) {
	if len(held) == 0 {
		return
	}
	d.backs.mu.Lock()
	d.backs.items = append(d.backs.items, held...)
	d.backs.mu.Unlock()
	select {
	case d.backs.wake <- struct{}{}:
	default:
	}
}

// handBackLoop hands back what giveBackHeld queued until backs is closed
// and empty.
func (d *Dispatcher) handBackLoop() {
	for {
		d.backs.mu.Lock()
		items, closed := d.backs.items, d.backs.closed
		d.backs.items = nil
		d.backs.mu.Unlock()
		if len(items) == 0 {
			if closed {
				return
			}
			<-d.backs.wake
			continue
		}
		now, clock := time.Now(), d.now()
		bd, ok := d.store.(batchDeferrer)
		if !ok {
			for _, h := range items {
				d.giveBack(h.j, clock.Add(h.due.Sub(now)))
			}
			continue
		}
		// In transactions of deferChunk: short enough not to hold up the
		// store's other writers for long.
		const deferChunk = 256
		for len(items) > 0 {
			n := min(len(items), deferChunk)
			ds := make([]hookd.Deferral, n)
			for i, h := range items[:n] {
				ds[i] = hookd.Deferral{MessageID: h.j.d.Message.ID, Lease: h.j.d.Lease, Due: clock.Add(h.due.Sub(now))}
			}
			items = items[n:]
			d.m.deferredMany(n)
			if err := bd.DeferMessages(d.attemptCtx, ds); err != nil {
				// They become due again when their leases end.
				d.log.Warn("delivery: defer messages", "messages", n, "err", err)
			}
		}
	}
}

// batchDeferrer is a store that hands many claimed messages back in one
// transaction (both SQL stores).
type batchDeferrer interface {
	DeferMessages(ctx context.Context, ds []hookd.Deferral) error
}

// finish records the end of j's attempt (or of its turn, when it was not
// attempted) with the fair queue, and logs a change of the webhook's
// circuit.
func (d *Dispatcher) finish(j job, res *Result) {
	kind, took := kindNone, time.Duration(0)
	if res != nil {
		kind, took = kindOf(&res.Attempt), res.Duration
	}
	switch d.sched.done(j.d.Webhook.ID, kind, took) {
	case circuitOpened:
		d.log.Warn("delivery: webhook does not answer; one attempt at a time until one succeeds",
			"webhook_id", j.d.Webhook.ID, "tenant_id", j.d.Webhook.TenantID,
			"after", fmt.Sprintf("%d timeouts or connection failures in a row", openAfter))
	case circuitClosed:
		d.log.Info("delivery: webhook answers again", "webhook_id", j.d.Webhook.ID, "tenant_id", j.d.Webhook.TenantID)
	}
}

// giveBack returns a claimed delivery unattempted, due at due. If the store
// cannot take it back, the message becomes due when its lease ends.
func (d *Dispatcher) giveBack(j job, due time.Time) { d.giveBackCtx(d.attemptCtx, j, due) }

func (d *Dispatcher) giveBackCtx(ctx context.Context, j job, due time.Time) {
	d.m.deferred()
	if err := d.store.DeferMessage(ctx, j.d.Message.ID, j.d.Lease, due); err != nil {
		d.log.Warn("delivery: defer message; it is due again when its lease ends", "message_id", j.d.Message.ID, "err", err)
	}
}

// work runs one claimed delivery and returns its outcome and the
// attempt's result, nil and nil when it was not attempted: Drain was
// called while it waited in the queue, or it waited past its deadline (it
// is given back, due now); the outcome alone is nil when the attempt was
// cut short by an aborted drain.
func (d *Dispatcher) work(j job) (*hookd.Outcome, *Result) {
	select {
	case <-d.stop:
		d.giveBack(j, d.now())
		return nil, nil
	default:
	}
	if time.Now().After(j.deadline) {
		d.giveBack(j, d.now())
		return nil, nil
	}
	var started time.Time // when the attempt starts, for a rate-limited webhook
	if rate := j.d.Webhook.RateLimit; rate > 0 {
		interval := paceInterval(rate)
		wait := d.starts.reserve(j.d.Webhook.ID, interval, time.Now())
		for {
			if wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-d.stop:
					t.Stop()
					d.giveBack(j, d.now())
					return nil, nil
				case <-t.C:
				}
			}
			if wait, started = d.starts.begin(j.d.Webhook.ID, interval, time.Now(), d.now); wait == 0 {
				break
			}
		}
	}
	res := d.sender.send(d.attemptCtx, j.d, started)
	if d.attemptCtx.Err() != nil && !res.Attempt.Success {
		// Cut short by an aborted drain. The client reports that as the
		// context's error or, when it ended the connection's I/O, as an
		// i/o timeout (TestDrainDeadline failed 1 run in 15 so, recording
		// a timeout).
		return nil, nil
	}
	d.m.attempt(res)
	if d.log.Enabled(d.attemptCtx, slog.LevelDebug) {
		a := &res.Attempt
		d.log.Debug("delivery: attempt", "webhook_id", j.d.Webhook.ID, "message_id", j.d.Message.ID,
			"tenant_id", j.d.Message.TenantID, "trigger", string(a.Trigger), "success", a.Success,
			"status", a.StatusCode, "duration_ms", a.DurationMS, "error", a.Error, "err", res.Err)
	}
	return d.outcome(j.d, res), &res
}

// outcome decides the message's next state after an attempt.
func (d *Dispatcher) outcome(dl *hookd.Delivery, res Result) *hookd.Outcome {
	o := &hookd.Outcome{MessageID: dl.Message.ID, Lease: dl.Lease, Attempt: res.Attempt}
	if res.Attempt.Success {
		o.State = hookd.StateSuccessful
	} else {
		o.State, o.NextAttemptAt = d.retry.Next(&dl.Webhook, dl.Message.Tries+1, res.RetryAfter, d.now())
	}
	return o
}

// completeLoop records outcomes as they arrive: each Complete takes every
// outcome that finished while the previous one ran (group commit), so an
// outcome waits at most for one store write.
func (d *Dispatcher) completeLoop(results <-chan *hookd.Outcome) {
	var batch []hookd.Outcome
	for o := range results {
		batch = append(batch[:0], *o)
	more:
		for {
			select {
			case o, ok := <-results:
				if !ok {
					break more
				}
				batch = append(batch, *o)
			default:
				break more
			}
		}
		d.commit(batch)
		// A retry may now be due sooner than the loop planned when it
		// last asked (it saw these messages still leased).
		select {
		case d.freed <- struct{}{}:
		default:
		}
	}
}

// commit applies outcomes. While the store is unavailable (EUNAVAILABLE:
// its disk is full, the database is away) it waits for it, retrying with
// backoff, for as long as it takes: the attempts were made and their
// outcomes are recorded once the store takes writes again. Meanwhile the
// workers wait to hand over their outcomes, so that nothing new is
// attempted (claiming needs the store too). Any other error is retried a
// few times; if it persists, or a drain's deadline passes, the outcomes
// are lost and their messages are attempted again when their leases end
// (delivery is at least once).
func (d *Dispatcher) commit(outs []hookd.Outcome) {
	if len(outs) == 0 {
		return
	}
	var delay time.Duration
	for try := 1; ; try++ {
		err := d.store.Complete(d.attemptCtx, outs, d.now())
		if err == nil {
			d.m.completed(len(outs))
			return
		}
		unavailable := hookd.ErrorCode(err) == hookd.EUNAVAILABLE
		if (try >= 5 && !unavailable) || d.attemptCtx.Err() != nil {
			d.log.Error("delivery: record attempts; their messages will be attempted again when their leases end",
				"err", err, "outcomes", len(outs))
			return
		}
		delay = min(max(3*delay, 20*time.Millisecond), 5*time.Second)
		d.log.Warn("delivery: record attempts", "err", err, "outcomes", len(outs), "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-d.attemptCtx.Done():
			t.Stop()
		}
	}
}

// backoff returns the next wait after a store error: 100 ms doubling up
// to 5 s.
func backoff(prev time.Duration) time.Duration {
	return min(max(2*prev, 100*time.Millisecond), 5*time.Second)
}

// TestEventType is the event type of a test message when none is given.
const TestEventType = "webhook.test"

// Test sends one test event to w at once: it stores a test message
// (Store.CreateTestMessage), makes one attempt with trigger test, records
// it with the message successful or failed (never retried) and returns
// the attempt. eventType defaults to TestEventType, payload to {}. headers
// (validated by the caller, see hookd.CheckHeaders) go over the webhook's
// own headers for this attempt only (hookd.MergeHeaders); the webhook is
// not changed. Errors are the store's (ENOTFOUND for an unknown webhook);
// a failed attempt is not an error.
func (d *Dispatcher) Test(ctx context.Context, w *hookd.Webhook, eventType string, payload json.RawMessage, headers map[string][]string) (*hookd.Attempt, error) {
	if eventType == "" {
		eventType = TestEventType
	}
	if len(payload) == 0 {
		payload = json.RawMessage(`{}`)
	}
	dl, err := d.store.CreateTestMessage(ctx, w.TenantID, w.ID,
		hookd.EventInput{Type: eventType, Payload: payload}, d.now())
	if err != nil {
		return nil, fmt.Errorf("create test message: %w", err)
	}
	dl.Trigger = hookd.TriggerTest
	if dl.Webhook.ID == "" {
		dl.Webhook = *w
	}
	if len(headers) > 0 {
		dl.Webhook.Headers = hookd.MergeHeaders(dl.Webhook.Headers, headers)
	}
	res := d.sender.Send(ctx, dl)
	d.m.attempt(res)
	a := res.Attempt
	a.Number = 1
	o := hookd.Outcome{MessageID: dl.Message.ID, Lease: dl.Lease, Attempt: a, State: hookd.StateFailed}
	if a.Success {
		o.State = hookd.StateSuccessful
	}
	// Record it even if the caller went away meanwhile: it was sent.
	rctx := context.WithoutCancel(ctx)
	if err := d.store.Complete(rctx, []hookd.Outcome{o}, d.now()); err != nil {
		return nil, fmt.Errorf("record test attempt: %w", err)
	}
	// Answer with the attempt as stored (the store may assign its own id),
	// so the caller can find it again among the message's attempts.
	if atts, err := d.store.ListAttempts(rctx, dl.Message.TenantID, dl.Message.ID, hookd.Page{Limit: 1}); err == nil && len(atts) == 1 {
		return atts[0], nil
	}
	return &a, nil
}
