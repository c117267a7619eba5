package delivery

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd"
)

// Fair dispatch. Claimed deliveries do not go to the workers in claim
// order: they wait in memory in one FIFO queue per webhook, and a free
// worker takes the next one from a webhook chosen round-robin, first over
// tenants, then over the tenant's webhooks (fairQueue.pop). A webhook is
// passed over while it is at its bound of attempts in flight:
//
//   - its max_in_flight (the server's --max-in-flight when null);
//   - a window that starts small (initialWindow) and grows by one with
//     each success, so that a webhook nobody knows yet cannot take many
//     workers before its first answers show whether it answers at all;
//   - one, while its circuit is open: openAfter timeouts or connection
//     failures in a row open it, and then one attempt at a time (the
//     probe) goes through until one succeeds, which closes it. An HTTP
//     answer, even an error, ends the streak but does not close the
//     circuit. Webhooks with an open circuit together hold at most half
//     of the workers.
//
// Workers are shared fairly: a tenant, and a webhook, holding its share
// of the workers (workers / active ones, rounded up) or more is passed
// over while another below its share waits; only when none does may it
// take more, so one alone can still use every worker. The last few free
// workers (reserve) are kept for webhooks with no attempt running, so
// that a healthy webhook's next message starts at once even while slow
// receivers hold every other worker.
//
// A delivery waiting for its webhook is not an attempt: it spends no
// retry and does not touch the failure streak. It is held within its
// lease; once the webhook's observed pace (its attempts' mean duration
// and its bound) says it cannot start before its deadline it is handed
// back (DeferMessage), due when its turn is expected, so that the claims
// do not take the same backlog again and again, and the slow webhook's
// messages are still attempted, at the pace its bound allows.
//
// fairQueue is a plain data structure; the dispatcher guards it with a
// mutex (sched).

// Tunables of the fair queue.
const (
	// DefaultMaxInFlight is the server's default bound on a webhook's
	// attempts in flight (--max-in-flight), see Config.MaxInFlight.
	DefaultMaxInFlight = 32
	// initialWindow is the bound of a webhook the engine has no success
	// of yet.
	initialWindow = 4
	// openAfter is how many timeouts or connection failures in a row open
	// a webhook's circuit.
	openAfter = 3
	// maxDeferAhead caps how far ahead a held delivery is handed back: a
	// receiver that recovers gets its backlog within this time.
	maxDeferAhead = 2 * time.Minute
	// slowAttempt is the mean attempt duration from which a webhook counts
	// as slow (fairQueue.counted); a receiver on a network answers in
	// milliseconds to a few hundred.
	slowAttempt = time.Second
)

// fairQueue holds the deliveries claimed and not started, per webhook,
// and the state of each webhook the engine is working for.
type fairQueue struct {
	workers  int // the pool's size
	reserve  int // free workers kept for webhooks with nothing running
	openCap  int // attempts of open-circuit webhooks at once, together
	defLimit int // the default max_in_flight

	tenants []*tenantQueue // with queued or running deliveries, round-robin
	next    int            // the tenant to look at first
	byID    map[string]*tenantQueue
	hooks   map[string]*hookQueue // every webhook seen recently, idle or not

	running     int // attempts running
	openRunning int // of which to open-circuit webhooks
	queued      int // deliveries waiting
	counted     int // running + each webhook's queued up to its bound, see window
	open        int // webhooks whose circuit is open
	activeHooks int // webhooks with queued or running deliveries

	// giveBack collects deliveries to hand back, with when they are due
	// (on the real clock); the dispatcher takes them (takeGiveBacks).
	giveBack []heldBack
}

// heldBack is a delivery to hand back unattempted, due at due.
type heldBack struct {
	j   job
	due time.Time
}

// tenantQueue is one tenant's webhooks with queued or running deliveries.
type tenantQueue struct {
	id      string
	hooks   []*hookQueue
	next    int
	running int
}

// hookQueue is one webhook's queue and health.
type hookQueue struct {
	id, tenant string
	items      []job
	running    int
	max        int // its max_in_flight (default applied)
	window     int // grows with successes, see initialWindow
	fails      int // timeouts and connection failures in a row
	open       bool
	est        time.Duration // mean attempt duration (EWMA), 0 before the first
	active     bool          // in its tenant's ring
	idleSince  time.Time
}

// limit is how many attempts of h may run at once.
func (h *hookQueue) limit() int {
	if h.open {
		return 1
	}
	return max(min(h.max, h.window), 1)
}

// counted is what h counts against the claim window: its running attempts
// and its queued deliveries, or of those only as many as its bound when
// it is slow (its circuit is open or its attempts take slowAttempt or
// more) or unknown (none has ended yet). A slow webhook holds more in
// memory than it counts, so that it cannot stop the claims that find
// other webhooks' messages; a fast one counts all, so that the claims do
// not run ahead of it (measured: claiming 6,400 ahead of one fast webhook
// under load made its pace look slow enough to hand messages back).
func (h *hookQueue) counted() int {
	if h.open || h.est == 0 || h.est >= slowAttempt {
		return h.running + min(len(h.items), h.limit())
	}
	return h.running + len(h.items)
}

func newFairQueue(workers, defLimit int) *fairQueue {
	if defLimit <= 0 {
		defLimit = DefaultMaxInFlight
	}
	q := &fairQueue{workers: workers, defLimit: defLimit, openCap: max(workers/2, 1),
		byID: map[string]*tenantQueue{}, hooks: map[string]*hookQueue{}}
	// 1 in 16: a small pool (tests, a tiny install) keeps none, as one
	// kept worker there would be a large share of it.
	q.reserve = workers / 16
	return q
}

// hook returns the state of webhook w, created if new, with its bound
// from w (the latest claimed copy of the webhook wins).
func (q *fairQueue) hook(w *hookd.Webhook) *hookQueue {
	h := q.hooks[w.ID]
	if h == nil {
		h = &hookQueue{id: w.ID, tenant: w.TenantID, window: initialWindow}
		q.hooks[w.ID] = h
	}
	limit := w.MaxInFlight
	if limit <= 0 {
		limit = q.defLimit
	}
	if limit != h.max {
		q.counted -= h.counted()
		h.max = limit
		q.counted += h.counted()
	}
	return h
}

// activate puts h in its tenant's ring.
func (q *fairQueue) activate(h *hookQueue) {
	if h.active {
		return
	}
	t := q.byID[h.tenant]
	if t == nil {
		t = &tenantQueue{id: h.tenant}
		q.byID[h.tenant] = t
		q.tenants = append(q.tenants, t)
	}
	t.hooks = append(t.hooks, h)
	h.active = true
	q.activeHooks++
}

// deactivate takes h out of its tenant's ring once it has nothing queued
// or running, and the tenant out of the ring once it has no webhook left.
func (q *fairQueue) deactivate(h *hookQueue, now time.Time) {
	if !h.active || len(h.items) > 0 || h.running > 0 {
		return
	}
	h.active = false
	h.idleSince = now
	q.activeHooks--
	t := q.byID[h.tenant]
	t.hooks, t.next = removeRing(t.hooks, h, t.next)
	if len(t.hooks) == 0 {
		delete(q.byID, t.id)
		q.tenants, q.next = removeRing(q.tenants, t, q.next)
	}
}

// removeRing removes x from ring s and keeps the cursor on the element
// that would have come next.
func removeRing[T comparable](s []T, x T, cursor int) ([]T, int) {
	for i, v := range s {
		if v != x {
			continue
		}
		s = append(s[:i], s[i+1:]...)
		if i < cursor {
			cursor--
		}
		if cursor >= len(s) {
			cursor = 0
		}
		return s, cursor
	}
	return s, cursor
}

// push queues j behind the webhook's other deliveries.
func (q *fairQueue) push(j job, now time.Time) {
	h := q.hook(&j.d.Webhook)
	q.counted -= h.counted()
	h.items = append(h.items, j)
	q.counted += h.counted()
	q.queued++
	q.activate(h)
	q.trim(h, now)
}

// pop takes the next delivery to start, if any webhook may start one: see
// the package's fair dispatch.
func (q *fairQueue) pop() (job, bool) {
	if q.queued == 0 || q.running >= q.workers {
		return job{}, false
	}
	free := q.workers - q.running
	tShare := ceilDiv(q.workers, len(q.tenants))
	hShare := ceilDiv(q.workers, q.activeHooks)
	for _, fair := range []bool{true, false} {
		for i := range q.tenants {
			ti := (q.next + i) % len(q.tenants)
			t := q.tenants[ti]
			if fair && t.running >= tShare {
				continue
			}
			for k := range t.hooks {
				hi := (t.next + k) % len(t.hooks)
				h := t.hooks[hi]
				if !q.startable(h, free) || (fair && h.running >= hShare) {
					continue
				}
				q.next = (ti + 1) % len(q.tenants)
				t.next = (hi + 1) % len(t.hooks)
				return q.start(t, h), true
			}
		}
	}
	return job{}, false
}

// startable reports whether h may start an attempt with free workers free.
func (q *fairQueue) startable(h *hookQueue, free int) bool {
	switch {
	case len(h.items) == 0 || h.running >= h.limit():
		return false
	case h.open && q.openRunning >= q.openCap:
		return false
	case h.running > 0 && free <= q.reserve:
		return false
	}
	return true
}

func (q *fairQueue) start(t *tenantQueue, h *hookQueue) job {
	q.counted -= h.counted()
	j := h.items[0]
	h.items[0] = job{}
	h.items = h.items[1:]
	h.running++
	q.counted += h.counted()
	t.running++
	q.running++
	q.queued--
	if h.open {
		q.openRunning++
	}
	return j
}

func ceilDiv(a, b int) int {
	if b <= 0 {
		return a
	}
	return (a + b - 1) / b
}

// attemptKind is what an attempt's result tells about its receiver.
type attemptKind int

const (
	kindSuccess  attemptKind = iota // a 2xx
	kindAnswered                    // another HTTP answer, or an error of ours
	kindNoAnswer                    // a timeout or a connection failure
	kindNone                        // not attempted (given back, cut short)
)

// kindOf classifies an attempt's result for the circuit.
func kindOf(a *hookd.Attempt) attemptKind {
	if a.Success {
		return kindSuccess
	}
	switch a.Error {
	case hookd.AttemptErrTimeout, hookd.AttemptErrRefused, hookd.AttemptErrReset,
		hookd.AttemptErrNetwork, hookd.AttemptErrDNS, hookd.AttemptErrTLS:
		return kindNoAnswer
	}
	return kindAnswered
}

// circuit reports a change of a webhook's circuit.
type circuit int

const (
	circuitSame circuit = iota
	circuitOpened
	circuitClosed
)

// done records that an attempt of webhook id started by pop ended: of
// kind, after took. It reports whether the webhook's circuit changed.
func (q *fairQueue) done(id string, kind attemptKind, took time.Duration, now time.Time) circuit {
	h := q.hooks[id]
	if h == nil {
		return circuitSame
	}
	t := q.byID[h.tenant]
	q.counted -= h.counted()
	h.running--
	q.running--
	if t != nil {
		t.running--
	}
	if h.open {
		q.openRunning--
	}
	change := circuitSame
	switch kind {
	case kindSuccess:
		h.fails = 0
		h.window = min(h.window+1, max(h.max, initialWindow))
		if h.open {
			h.open = false
			q.open--
			change = circuitClosed
		}
	case kindAnswered:
		h.fails = 0
	case kindNoAnswer:
		h.fails++
		if h.fails >= openAfter && !h.open {
			h.open = true
			q.open++
			change = circuitOpened
		}
	}
	if kind != kindNone {
		if h.est == 0 {
			h.est = took
		} else {
			h.est = (4*h.est + took) / 5
		}
	}
	q.counted += h.counted()
	q.trim(h, now)
	q.deactivate(h, now)
	return change
}

// trim hands back the deliveries at the end of h's queue that h's pace
// says cannot start before their deadline, due when their turn is
// expected (at most maxDeferAhead ahead, spread so that they do not all
// come back at once). Nothing is trimmed before h's first attempt ended:
// until then nothing is known of its pace.
func (q *fairQueue) trim(h *hookQueue, now time.Time) {
	if h.est <= 0 || len(h.items) == 0 {
		return
	}
	limit := h.limit()
	free := max(limit-h.running, 0)
	n := len(h.items)
	for n > 0 {
		i := n - 1
		wait := time.Duration(0)
		if i >= free {
			// Rounds of limit attempts before position i starts.
			wait = time.Duration((i-free)/limit+1) * h.est
		}
		at := now.Add(wait)
		if !at.After(h.items[i].deadline) {
			break
		}
		if wait > maxDeferAhead {
			wait = maxDeferAhead/2 + rand.N(maxDeferAhead/2)
		}
		q.giveBack = append(q.giveBack, heldBack{j: h.items[i], due: now.Add(wait)})
		h.items[i] = job{}
		n--
	}
	if n < len(h.items) {
		q.counted -= h.counted()
		q.queued -= len(h.items) - n
		h.items = h.items[:n]
		q.counted += h.counted()
	}
}

// takeGiveBacks returns the deliveries trim set aside.
func (q *fairQueue) takeGiveBacks() []heldBack {
	g := q.giveBack
	q.giveBack = nil
	return g
}

// drain removes and returns every queued delivery (at shutdown).
func (q *fairQueue) drain(now time.Time) []job {
	var out []job
	for _, h := range q.hooks {
		if len(h.items) == 0 {
			continue
		}
		q.counted -= h.counted()
		out = append(out, h.items...)
		q.queued -= len(h.items)
		h.items = nil
		q.counted += h.counted()
		q.deactivate(h, now)
	}
	return out
}

// forget drops the state of webhooks idle since before cutoff: what is
// known of them is old, and their next deliveries start over with a
// small window.
func (q *fairQueue) forget(cutoff time.Time) {
	for id, h := range q.hooks {
		if !h.active && h.idleSince.Before(cutoff) {
			if h.open {
				q.open--
			}
			delete(q.hooks, id)
		}
	}
}

// sched is the fair queue shared by the loop and the workers.
type sched struct {
	mu     sync.Mutex
	cond   *sync.Cond // a delivery may have become startable, or closed
	q      *fairQueue
	closed bool
	// counted mirrors q.counted for readers that must not wait for the
	// lock: the handoff asks for each message a publish writes.
	counted atomic.Int64
}

// holdMax is how many deliveries may wait in memory per worker: enough to
// hold a slow webhook's backlog while its pace is unknown (its first
// attempts have not ended), and the claims go on to find other webhooks'
// messages behind it (about 2 KiB each).
const holdMax = 100

// push queues j and wakes a worker.
func (s *sched) push(j job) {
	s.mu.Lock()
	s.q.push(j, time.Now())
	s.counted.Store(int64(s.q.counted))
	s.mu.Unlock()
	s.cond.Signal()
}

// take waits for the next delivery a worker may start; false once closed.
func (s *sched) take() (job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.closed {
		if j, ok := s.q.pop(); ok {
			s.counted.Store(int64(s.q.counted))
			if s.q.queued > 0 && s.q.running < s.q.workers {
				s.cond.Signal() // another may start one too
			}
			return j, true
		}
		s.cond.Wait()
	}
	return job{}, false
}

// done records the end of an attempt that take started (see
// fairQueue.done). It wakes no worker: the caller is one, about to take
// its next delivery, and take wakes another when more may start (waking
// one here woke a worker for nothing at nearly every attempt, measured
// as CPU per delivery with 100 webhooks).
func (s *sched) done(webhookID string, kind attemptKind, took time.Duration) circuit {
	s.mu.Lock()
	c := s.q.done(webhookID, kind, took, time.Now())
	s.counted.Store(int64(s.q.counted))
	s.mu.Unlock()
	return c
}

// close makes take return false.
func (s *sched) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cond.Broadcast()
}

// room is how many more deliveries the loop may claim: window less what
// counts against it (fairQueue.counted), and no more than holdMax per
// worker waiting in all.
func (s *sched) room(window int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return min(window-s.q.counted, holdMax*s.q.workers-s.q.queued)
}

// gauges returns the deliveries waiting and running, and the open
// circuits, for the metrics.
func (s *sched) gauges() (waiting, running, open int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.q.queued, s.q.running, s.q.open
}
