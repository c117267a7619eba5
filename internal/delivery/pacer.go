package delivery

import (
	"sync"
	"time"
)

// pacer spaces the attempts of webhooks with a rate limit evenly: at least
// paceInterval(rate) apart, so no one-second window holds more than rate
// attempts. A delivery that must wait is queued in memory, in claim order
// per webhook, without holding a worker. It is used by the dispatch loop
// alone and needs no lock.
type pacer struct {
	queues map[string]*paceQueue
}

// paceQueue is one rate-limited webhook's state.
type paceQueue struct {
	next     time.Time // earliest start of the next attempt
	interval time.Duration
	items    []job
	// deferred is the turn of the last delivery given back, so that the
	// next one given back is due an interval later, not at the same time.
	deferred time.Time
}

// paceInterval is the spacing of attempts under a rate limit of rate per
// second: 5 % wider than 1/rate, so that a receiver, whose arrival times
// are jittered by scheduling and the network (tens of milliseconds on a
// loaded host), still never sees rate+1 in a second.
func paceInterval(rate int) time.Duration {
	return time.Second * 105 / time.Duration(100*rate)
}

// admit dispatches j at once when its webhook has no rate limit or is free
// to send now, and reports whether it did; otherwise it queues j, or gives
// it back when its turn would come after j.deadline.
func (p *pacer) admit(d *Dispatcher, j job) bool {
	rate := j.d.Webhook.RateLimit
	if rate <= 0 {
		d.dispatch(j)
		return true
	}
	q := p.queues[j.d.Webhook.ID]
	if q == nil {
		q = &paceQueue{}
		p.queues[j.d.Webhook.ID] = q
	}
	q.interval = paceInterval(rate)
	now := time.Now()
	if len(q.items) == 0 && !now.Before(q.next) {
		q.next = now.Add(q.interval)
		d.dispatch(j)
		return true
	}
	turn := q.next
	if turn.Before(now) {
		turn = now
	}
	turn = turn.Add(time.Duration(len(q.items)) * q.interval)
	if turn.After(j.deadline) {
		if t := q.deferred.Add(q.interval); t.After(turn) {
			turn = t
		}
		q.deferred = turn
		d.giveBack(j, d.now().Add(turn.Sub(now)))
		return false
	}
	q.items = append(q.items, j)
	return false
}

// dispatchReady dispatches up to free queued deliveries whose turn has
// come and returns how many it dispatched.
func (p *pacer) dispatchReady(d *Dispatcher, free int) int {
	n := 0
	for id, q := range p.queues {
		for n < free && len(q.items) > 0 {
			now := time.Now()
			if now.Before(q.next) {
				break
			}
			j := q.items[0]
			q.items[0] = job{}
			q.items = q.items[1:]
			if now.After(j.deadline) {
				d.giveBack(j, d.now())
				continue
			}
			q.next = now.Add(q.interval)
			d.dispatch(j)
			n++
		}
		if now := time.Now(); len(q.items) == 0 && !now.Before(q.next) && !now.Before(q.deferred) {
			delete(p.queues, id)
		}
	}
	return n
}

// nextReady returns when the earliest queued delivery's turn comes.
func (p *pacer) nextReady() (time.Time, bool) {
	var t time.Time
	ok := false
	for _, q := range p.queues {
		if len(q.items) > 0 && (!ok || q.next.Before(t)) {
			t, ok = q.next, true
		}
	}
	return t, ok
}

// giveBackAll gives back every queued delivery, due now (at shutdown).
func (p *pacer) giveBackAll(d *Dispatcher) {
	for id, q := range p.queues {
		for _, j := range q.items {
			d.giveBack(j, d.now())
		}
		delete(p.queues, id)
	}
}

// starts keeps when each rate-limited webhook's attempts start. The pacer
// spaces dispatches, but a dispatched delivery may wait for a free worker
// and then start less than an interval before the next one (seen: 6
// arrivals in 983 ms at 5/s with every worker busy); reserve, called by
// the worker right before it sends, closes that gap. A worker may also
// wake up late from waiting for its reserved turn on a loaded machine
// while the next one wakes on time (seen: 6 attempts within 963 ms at
// 5/s): begin, called as the attempt starts, spaces the actual starts.
type starts struct {
	mu    sync.Mutex
	last  map[string]time.Time // the latest turn reserved
	began map[string]time.Time // the latest attempt begun
}

// forgetIdle drops from m, when it grew large, the webhooks idle for a
// second: their next start is free.
func forgetIdle(m map[string]time.Time, now time.Time) map[string]time.Time {
	if m != nil && len(m) <= 4096 {
		return m
	}
	out := make(map[string]time.Time, len(m))
	for k, t := range m {
		if now.Sub(t) < time.Second {
			out[k] = t
		}
	}
	return out
}

// reserve books the next turn of webhook id, at least interval after the
// last one, and returns how long the caller must wait for it (0: start
// now).
func (s *starts) reserve(id string, interval time.Duration, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = forgetIdle(s.last, now)
	at := now
	if last, ok := s.last[id]; ok && last.Add(interval).After(at) {
		at = last.Add(interval)
	}
	s.last[id] = at
	return at.Sub(now)
}

// begin starts an attempt of webhook id at now if the last one began at
// least interval before, and returns 0 and the attempt's start time on
// clock, read under the same lock so that the recorded starts are spaced
// as the real ones; otherwise it returns how much longer to wait.
func (s *starts) begin(id string, interval time.Duration, now time.Time, clock func() time.Time) (time.Duration, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.began = forgetIdle(s.began, now)
	if last, ok := s.began[id]; ok && last.Add(interval).After(now) {
		return last.Add(interval).Sub(now), time.Time{}
	}
	s.began[id] = now
	return 0, clock()
}
