package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlstore"
)

// Group commit of Publish.
//
// A Publish is answered once its commit is durable: one transaction per
// Publish would cap publishing at the disk's flushes per second (about 300
// events/s here with 32 clients). So Publish does not write itself: it
// queues its call for one writer goroutine per process, which takes every
// call queued (up to maxBatchCalls calls or about maxBatchEvents events),
// runs them in ONE transaction, writing their rows together (see
// sqlstore.PendingRows), commits once and answers every caller. A call
// that fails on a rule (an idempotency conflict, an unknown tenant) writes
// nothing and only it fails; the others still commit. Calls run in queue
// order, so a later call sees an earlier call's idempotency key and group
// messages just as if they had committed one after the other. The queue
// and the calls' protocol are sqlstore.Queue's, as in the SQLite store.
//
// The transaction holds the write lock shared: the rounds of several
// nodes, and their delivery engines, write at once. Before it runs the
// calls it takes, in one order, the locks of every group its events name
// and of every idempotency key they use (see the package comment): a
// round of another node publishing to the same group or key waits until
// this one committed, and then sees its messages and keys.

// Bounds of one group commit: a larger one would hold its group locks,
// and so the Complete calls releasing those groups, for longer.
const (
	maxBatchCalls  = 256
	maxBatchEvents = 5000
)

// publishCall is one Publish call on its way through the writer.
type publishCall struct {
	tenantID string
	events   []hookd.EventInput
	now      time.Time

	sqlstore.Call // queued, taken or given up on; answered when res and err are set
	res           []hookd.PublishResult
	err           error
}

// publisher is the writer goroutine's queue.
type publisher struct {
	sqlstore.Queue[*publishCall]

	onRound func(calls int) // tests: sees each round once committed
}

// Publish stores the events and their messages, committed together with
// whatever other Publish calls of this process wait at the same time
// (group commit, see above); it returns once the commit is durable. See
// hookd.Store. When ctx ends before the writer took the call, ctx.Err()
// and nothing is stored; once taken, the call's own answer.
func (db *DB) Publish(ctx context.Context, tenantID string, events []hookd.EventInput, now time.Time) ([]hookd.PublishResult, error) {
	c := &publishCall{tenantID: tenantID, events: events, now: now}
	if err := db.pub.Run(ctx, c); err != nil {
		return nil, err
	}
	if c.err != nil {
		return nil, sqlstore.Internal("publish events", db.Wrote(c.err))
	}
	return c.res, nil
}

// start starts db's writer goroutine.
func (p *publisher) start(db *DB) { p.Start(maxBatchCalls, func() { p.loop(db) }) }

// loop is the writer: one group commit per round until the queue is
// closed and empty.
func (p *publisher) loop(db *DB) {
	var batch []*publishCall
	for c := range p.C {
		batch = take(batch[:0], c)
		if len(batch) > 0 {
			db.publishRound(p, batch)
		}
	}
}

// take appends c to batch unless its caller gave up on it.
func take(batch []*publishCall, c *publishCall) []*publishCall {
	if c.Take() {
		batch = append(batch, c)
	}
	return batch
}

// fill takes the calls queued now, within the bounds of a round, without
// waiting for more.
func (p *publisher) fill(batch []*publishCall, events int) ([]*publishCall, int) {
	for len(batch) < maxBatchCalls && events < maxBatchEvents {
		select {
		case c, ok := <-p.C:
			if !ok {
				return batch, events // the loop's next receive ends it
			}
			n := len(batch)
			if batch = take(batch, c); len(batch) > n {
				events += len(c.events)
			}
		default:
			return batch, events
		}
	}
	return batch, events
}

// publishRound takes the calls queued meanwhile (within the bounds of a
// round) and runs them all in one transaction, under the locks of their
// groups and idempotency keys, then commits and answers them. A failed
// write or commit fails every call of the round. Calls that queue while
// the round runs wait for the next: their locks could be taken only out
// of order.
func (db *DB) publishRound(p *publisher, batch []*publishCall) {
	// The statements run under the writer's context, not a caller's: one
	// caller going away must not roll back the others' events.
	ctx := context.Background()
	events := 0
	for _, c := range batch {
		events += len(c.events)
	}
	batch, _ = p.fill(batch, events)
	var keys []lockKey
	for _, c := range batch {
		for i := range c.events {
			if g := c.events[i].Group; g != "" {
				keys = append(keys, groupLock(c.tenantID, g))
			}
			if k := c.events[i].IdempotencyKey; k != "" {
				keys = append(keys, idempotencyLock(c.tenantID, k))
			}
		}
	}
	// Messages due now go to the delivery engine, leased, while it has
	// room (see hookd.Handoff): they need no Claim.
	place := &sqlstore.Fresh{}
	if b := db.handoff.Load(); b != nil {
		place.Handoff, place.Lease = b.h, sqlstore.NewLease()
	}
	err := db.write(ctx, publishing, func(tx *wtx) error {
		if err := tx.lock(ctx, keys); err != nil {
			return err
		}
		hc := db.NewHookCache()
		rows := &sqlstore.PendingRows{}
		for _, c := range batch {
			c.res, c.err = sqlstore.PublishTx(ctx, tx, hc, rows, place, c.tenantID, c.events, c.now)
			var rule *hookd.Error
			if c.err != nil && !errors.As(c.err, &rule) {
				// Not a rule of the call's: the transaction's (and
				// PostgreSQL ends a transaction at its first error).
				return c.err
			}
		}
		return rows.Flush(ctx, tx)
	})
	var wake hookd.Handoff // loaded again: it may have been set meanwhile
	if b := db.handoff.Load(); b != nil {
		wake = b.h
	}
	place.Committed(err == nil, wake)
	if p.onRound != nil {
		p.onRound(len(batch))
	}
	for _, c := range batch {
		if err != nil && c.err == nil {
			// Not committed: whatever the call did is gone, and so may be
			// an earlier call's key that it saw.
			c.res, c.err = nil, err
		}
		c.Answer()
	}
}

// handoffBox holds the Handoff set by SetHandoff.
type handoffBox struct{ h hookd.Handoff }

// SetHandoff makes Publish hand the messages it writes due now to h,
// leased, as far as h reserves room for them (see hookd.Handoff); nil
// stops it. A round already running keeps the handoff it started with.
func (db *DB) SetHandoff(h hookd.Handoff) {
	if h == nil {
		db.handoff.Store(nil)
		return
	}
	db.handoff.Store(&handoffBox{h})
}

var _ hookd.HandoffStore = (*DB)(nil)
