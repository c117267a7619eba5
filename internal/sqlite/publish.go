package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlstore"
)

// Group commit of Publish.
//
// With synchronous=FULL every commit waits for the disk (an fsync of the
// WAL), and one commit per Publish caps single-event publishing at the
// disk's fsyncs per second however many clients publish at once. So
// Publish does not write itself: it queues its call for one writer
// goroutine, which takes every call queued once it holds the writer
// connection, and those queued while it runs them (up to maxBatchCalls
// calls or about maxBatchEvents events), runs them in ONE transaction,
// writing their rows together (see roundRows), commits once and then
// answers every caller. A call that fails on a rule (an idempotency
// conflict, an unknown tenant) writes nothing and only it fails; the
// others still commit. Nothing waits for a timer: an idle writer starts on
// the first call at once, and calls queue up only while the writer is busy
// (waiting for its connection, running calls, committing), which is
// exactly when batching them costs nothing. Calls are run in the order
// they were queued, so a later call sees an earlier call's idempotency key
// and group messages just as if they had committed one after the other.
//
// Complete and Claim use the same queue and rounds: when deliveries and
// publishing both flow, one commit serves them all, and none waits for
// another's transaction. A round takes the level of its first call: a
// Publish makes it FULL, and it then takes Completes too, but not a
// Claim (which would wait for the fsync); a Complete or a Claim makes it
// NORMAL, and it then takes Completes and Claims and leaves a Publish for
// the next round, since SQLite does not change the level inside a
// transaction.

// Bounds of one group commit: a larger batch would keep the writer
// connection, and so Claim and Complete, waiting for longer.
const (
	maxBatchCalls  = 256
	maxBatchEvents = 5000
)

// publishCall is one Publish call on its way through the writer, or one
// Complete (outs set) or Claim (claim set) call, which share the rounds of
// Publish: see otherInRound.
type publishCall struct {
	tenantID string
	events   []hookd.EventInput
	outs     []hookd.Outcome          // a Complete call when non-nil
	trans    []hookd.Transition       // what a Complete call applied, once answered without an error
	ops      []hookd.OperationalEvent // the operational events a Complete call published, likewise
	claim    *sqlstore.ClaimCall      // a Claim call when non-nil
	now      time.Time

	sqlstore.Call // queued, taken or given up on; answered when res and err are set
	res           []hookd.PublishResult
	err           error
}

// Publish stores the events and their messages, committed together with
// whatever other Publish calls are waiting at the same time (group commit,
// see above); it returns once the commit is durable. See hookd.Store.
// ENOTFOUND for an unknown tenant; ECONFLICT (ExistingID: the first event)
// for an idempotency key reused with another body. When ctx ends before
// the writer took the call, ctx.Err() and nothing is stored; once taken,
// the call's own answer.
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

// publishLoop is the writer: one group commit per round, as described
// above, until the queue is closed and empty.
func (db *DB) publishLoop() {
	r := &pubRound{batch: make([]*publishCall, 0, maxBatchCalls)}
	for {
		r.batch, r.events = r.batch[:0], 0
		if len(r.later) > 0 {
			// The calls set aside by the last round go first, in their
			// order, as far as they fit together.
			later := r.later
			r.later = nil
			for _, c := range later {
				if len(r.batch) == 0 || fits(c, r.batch[0].level()) && r.events+c.size() <= maxBatchEvents && len(r.batch) < maxBatchCalls {
					r.add(c) // a call given up on is dropped here
				} else {
					r.later = append(r.later, c)
				}
			}
		} else {
			c, ok := <-db.pub.C
			if !ok {
				return
			}
			db.received.Add(1)
			r.add(c)
		}
		if len(r.batch) > 0 {
			db.publishBatch(r)
		}
	}
}

// pubRound is the calls of one group commit.
type pubRound struct {
	batch  []*publishCall
	events int // in batch
	// later holds calls taken from the queue for a later round: over the
	// bounds, or not fitting this round's level. They are not marked
	// taken until a round takes them, so their callers may still give up.
	later []*publishCall
}

// add takes c unless its caller gave up on it.
func (r *pubRound) add(c *publishCall) {
	if c.Take() {
		r.batch = append(r.batch, c)
		r.events += c.size()
	}
}

// size is what a call counts against maxBatchEvents.
func (c *publishCall) size() int {
	n := len(c.events) + len(c.outs)
	if c.claim != nil {
		n += c.claim.Limit
	}
	return n
}

// level is the synchronous level a round needs for c: a Publish is
// answered only once durable; a Complete alone may be lost in a crash
// (its messages are then attempted again), see syncNormal.
func (c *publishCall) level() syncLevel {
	if c.outs != nil || c.claim != nil {
		return syncNormal
	}
	return syncFull
}

// fits reports whether c may join a round at level. A Publish needs FULL.
// A Claim joins only a NORMAL round: in a FULL one it would wait for the
// fsync, and delivery while publishing lost a quarter of its rate so
// (hookd-bench scenario a, steady phase). A Complete joins either.
func fits(c *publishCall, level syncLevel) bool {
	switch {
	case c.claim != nil:
		return level == syncNormal
	case c.outs != nil:
		return true
	default:
		return level == syncFull
	}
}

// fill takes the calls queued now, within the bounds of a round, without
// waiting for more. A call that does not fit the round's level (see fits:
// SQLite does not change the level inside a transaction) is set aside for
// the next round and filling goes on, so that the calls behind it are not
// held back; a call over the bounds ends the filling.
func (r *pubRound) fill(queue <-chan *publishCall, level syncLevel) {
	for len(r.batch) < maxBatchCalls && r.events < maxBatchEvents && len(r.later) < maxBatchCalls {
		select {
		case c, ok := <-queue:
			if !ok {
				return // the loop's next receive ends it
			}
			if len(r.batch) > 0 && !fits(c, level) {
				r.later = append(r.later, c)
				continue
			}
			if len(r.batch) > 0 && r.events+c.size() > maxBatchEvents {
				r.later = append(r.later, c)
				return
			}
			r.add(c)
		default:
			return
		}
	}
}

// publishBatch runs the round's calls in one transaction, commits and
// answers them all.
//
// The round takes the calls that queued up while the writer waited for
// its connection (Claim and Complete share it) and while it ran the
// calls it had, so it takes them after BEGIN and again after running
// them, until none is waiting or the bounds are reached: each call taken
// then shares a commit (an fsync) it would otherwise have waited for.
//
// A call that breaks a rule fails before it wrote anything, and the
// calls' rows are written together (roundRows), so no call needs a
// savepoint of its own. A failed write or commit fails every call of the
// round.
func (db *DB) publishBatch(r *pubRound) {
	// The statements run under the writer's context, not a caller's: one
	// caller going away must not roll back the others' events.
	ctx := context.Background()
	hc := db.NewHookCache()
	rows := &roundRows{}
	rows.SeqTop = db.seqTop
	if b := db.handoff.Load(); b != nil {
		rows.Handoff, rows.Lease, rows.ParkToken, rows.ParkFor = b.h, sqlstore.NewLease(), db.parkToken, parkFor
	}
	level := r.batch[0].level()
	err := db.txSync(ctx, level, func(tx *wtx) error {
		r.fill(db.pub.C, level)
		for i := 0; i < len(r.batch); {
			for ; i < len(r.batch); i++ {
				c := r.batch[i]
				if c.outs != nil || c.claim != nil {
					if err := otherInRound(ctx, tx, hc, rows, c); err != nil {
						return err
					}
					continue
				}
				c.res, c.err = sqlstore.PublishTx(ctx, tx, hc, &rows.PendingRows, rows, c.tenantID, c.events, c.now)
				if rows.Err != nil {
					return rows.Err
				}
				if hookd.ErrorCode(c.err) == hookd.EINTERNAL {
					// Not a rule of the call's: a statement failed, and
					// after SQLITE_FULL or SQLITE_IOERR SQLite may have
					// rolled the transaction back, so that the next
					// statements would commit one by one.
					return c.err
				}
			}
			r.fill(db.pub.C, level)
		}
		return rows.Flush(ctx, tx)
	})
	if err == nil {
		db.seqTop = max(db.seqTop, rows.Seq)
		if rows.Parked {
			db.fresh.parked(rows.Seq, rows.ParkedAt)
		}
	}
	if db.onRound != nil {
		db.onRound(level, r.batch)
	}
	// The engine may be asleep till its poll: its Claim reads on the read
	// pool, so it may have looked just before this commit. The handoff is
	// loaded again here, after the commit, in case it was registered
	// while the round ran.
	var wake hookd.Handoff
	if b := db.handoff.Load(); b != nil {
		wake = b.h
	}
	rows.Committed(err == nil, wake)
	for _, c := range r.batch {
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

// SetHandoff makes Publish hand the claimable messages it writes to h,
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

// otherInRound runs a Complete or a Claim call inside a round, after the
// Publish calls before it (their rows are written first: outcomes may
// release a group's next message, a Claim may take what they wrote). A
// savepoint confines a failed call to itself, as a failed rule confines a
// Publish. A Complete publishes its operational events with the round's
// rows (their messages numbered like the round's others), and may suspend
// a webhook, so the round's Publish calls after it read the webhooks
// again. Only an error of the transaction itself is returned.
func otherInRound(ctx context.Context, tx *wtx, hc *sqlstore.HookCache, rows *roundRows, c *publishCall) error {
	if err := rows.Flush(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT call"); err != nil {
		return err
	}
	if c.claim != nil {
		c.claim.Out, c.err = sqlstore.LeaseDueTx(ctx, tx, &dialect, c.claim, c.now)
	} else {
		c.trans, c.ops, c.err = sqlstore.CompleteTx(ctx, tx, &dialect, &rows.PendingRows, c.outs, c.now)
		hc.Reset()
		if rows.Err != nil {
			return rows.Err // a flush of the round's rows failed: the round fails
		}
	}
	if c.err != nil {
		if _, err := tx.ExecContext(ctx, "ROLLBACK TO call"); err != nil {
			// The call's error (SQLITE_FULL, say) rolled the whole
			// transaction back: it is the round's error too.
			return errors.Join(c.err, err)
		}
	}
	_, err := tx.ExecContext(ctx, "RELEASE call")
	return err
}

// roundRows are a round's pending rows and where its fresh messages go:
// handed off to the delivery engine, leased, or parked (fresh.go). It is
// the round's sqlstore.Placer.
type roundRows struct {
	sqlstore.PendingRows
	sqlstore.Fresh
}
