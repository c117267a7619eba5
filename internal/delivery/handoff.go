package delivery

import (
	"context"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// The dispatcher is a hookd.Handoff: a store that supports it (a
// hookd.HandoffStore; Run registers the dispatcher with it) leases the
// claimable messages it publishes straight to the dispatcher, which then
// attempts them without a Claim: one write less per message, and no wait
// for the loop to notice the publish and claim.
//
// Two rules keep handed-off messages from jumping the queue or starving
// it:
//   - the dispatcher takes them only while it is caught up: its last Claim
//     found fewer due messages than it asked for, so nothing older waits;
//   - reservations, deliveries queued for workers and attempts running
//     (as they count against the claim window, see fair.go) together
//     stay within the number of workers, a third of the claim window, so
//     the loop can always still claim (retries, released messages).

// handoff is the state shared by the store's publisher and the loop.
type handoff struct {
	mu       sync.Mutex
	open     bool // Run is running and takes deliveries
	caughtUp bool // the last Claim found less than it asked for
	reserved int  // granted by Reserve, not yet taken by the loop
	handed   []*hookd.Delivery
}

var _ hookd.Handoff = (*Dispatcher)(nil)

// Reserve takes up to n more deliveries while the dispatcher is caught up
// and within its workers (see above); it returns how many and the lease
// to give them. See hookd.Handoff.
func (d *Dispatcher) Reserve(n int) (int, time.Duration) {
	h := &d.ho
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.open || !h.caughtUp {
		return 0, 0
	}
	room := d.workers - int(d.sched.counted.Load()) - h.reserved
	n = max(min(n, room), 0)
	h.reserved += n
	return n, d.lease
}

// Deliver takes reserved deliveries, now committed and leased, for the
// loop. After Run has stopped they are given back, due now.
func (d *Dispatcher) Deliver(ds []*hookd.Delivery) {
	h := &d.ho
	h.mu.Lock()
	if !h.open {
		h.reserved -= len(ds)
		h.mu.Unlock()
		// Run may have returned, and its context with it.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.giveBackAll(ctx, ds)
		return
	}
	h.handed = append(h.handed, ds...)
	h.mu.Unlock()
	d.Wake()
}

// Release gives back n reservations that will not be delivered.
func (d *Dispatcher) Release(n int) {
	h := &d.ho
	h.mu.Lock()
	h.reserved -= n
	h.mu.Unlock()
	select {
	case d.freed <- struct{}{}:
	default:
	}
}

// openHandoff registers the dispatcher with a store that can hand off,
// and returns the function that undoes it and gives back what was handed
// and not taken.
func (d *Dispatcher) openHandoff() func() {
	hs, ok := d.store.(hookd.HandoffStore)
	if !ok {
		return func() {}
	}
	d.ho.mu.Lock()
	d.ho.open = true
	d.ho.mu.Unlock()
	hs.SetHandoff(d)
	return func() {
		hs.SetHandoff(nil)
		h := &d.ho
		h.mu.Lock()
		h.open = false
		ds := h.handed
		h.handed = nil
		h.reserved -= len(ds)
		h.mu.Unlock()
		d.giveBackAll(d.attemptCtx, ds)
	}
}

// giveBackAll gives back handed-off deliveries that no worker started,
// due now.
func (d *Dispatcher) giveBackAll(ctx context.Context, ds []*hookd.Delivery) {
	now := d.now()
	for _, dl := range ds {
		d.giveBackCtx(ctx, job{d: dl}, now)
	}
}

// takeHanded returns the deliveries handed over since the last call and
// the reservations still outstanding (granted, not yet delivered).
func (d *Dispatcher) takeHanded() ([]*hookd.Delivery, int) {
	h := &d.ho
	h.mu.Lock()
	defer h.mu.Unlock()
	ds := h.handed
	h.handed = nil
	h.reserved -= len(ds)
	return ds, h.reserved
}

// setCaughtUp records whether the last Claim found everything that was
// due.
func (d *Dispatcher) setCaughtUp(v bool) {
	d.ho.mu.Lock()
	d.ho.caughtUp = v
	d.ho.mu.Unlock()
}

// caughtUp reports whether the last Claim found everything that was due.
func (d *Dispatcher) caughtUp() bool {
	d.ho.mu.Lock()
	defer d.ho.mu.Unlock()
	return d.ho.caughtUp
}
