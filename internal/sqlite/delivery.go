package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlstore"
)

// Claim leases up to limit due messages until now+lease and returns them
// with their events and webhooks: parked messages (fresh.go) in publish
// order by reading them, then messages due by due_at, oldest due first,
// leased in a writer round. It reads only the messages_due index and the
// parked rows after a cursor, so its cost does not depend on how many
// messages wait for a later time. The write transaction only leases;
// events and webhooks are read afterwards on the read pool, so that the
// writer is held for as short as possible.
func (db *DB) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*hookd.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	// Parked messages handed out whose lease ended become due, to be
	// leased again below like any other.
	if seqs := db.fresh.expired(now); len(seqs) > 0 {
		if err := db.unpark(ctx, seqs, now); err != nil {
			return nil, fmt.Errorf("claim due messages: %w", err)
		}
	}
	// Parked messages (fresh.go) are read, not written. The writer is
	// asked only if something is due by due_at (read first on the read
	// pool), and then gets at least a quarter of the room, so that
	// retries and released messages are not starved by a long run of
	// parked ones.
	next, ok, err := db.MinDue(ctx)
	if err != nil {
		return nil, fmt.Errorf("claim due messages: %w", err)
	}
	due := ok && !next.After(now)
	var parked []sqlstore.Claimed
	if _, ok := db.fresh.pending(); ok {
		room := limit
		if due {
			room = limit - limit/4
		}
		if parked, err = db.readParked(ctx, now, room, lease); err != nil {
			return nil, fmt.Errorf("claim parked messages: %w", err)
		}
	}
	out, err := db.DeliveriesOf(ctx, parked, db.parkToken, now)
	if err != nil {
		return nil, err
	}
	if rest := limit - len(parked); rest > 0 && due {
		more, err := db.leaseDue(ctx, now, rest, lease)
		if err != nil && len(out) == 0 {
			return nil, err
		}
		// Otherwise the parked messages, already read, go out; the error
		// comes back on a later Claim.
		out = append(out, more...)
	}
	return out, nil
}

// leaseDue leases up to limit messages due by due_at in a writer round and
// returns them as deliveries.
func (db *DB) leaseDue(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*hookd.Delivery, error) {
	// The lease is written in the writer's rounds, with whatever Publish
	// and Complete calls share them (publish.go): one commit for all.
	cl := &sqlstore.ClaimCall{Limit: limit, Lease: lease, Token: sqlstore.NewLease()}
	c := &publishCall{claim: cl, now: now}
	err := db.pub.Run(ctx, c)
	if err == nil {
		err = db.Wrote(c.err)
	}
	if err != nil {
		return nil, fmt.Errorf("claim due messages: %w", err)
	}
	return db.DeliveriesOf(ctx, cl.Out, cl.Token, now)
}

// NextDue returns the earliest due_at: when a waiting message becomes due
// or a lease ends.
func (db *DB) NextDue(ctx context.Context) (time.Time, bool, error) {
	if since, ok := db.fresh.pending(); ok {
		return since, true, nil // parked messages wait since their publish
	}
	next, ok, err := db.MinDue(ctx)
	if end, out := db.fresh.firstEnd(); out && (!ok || end.Before(next)) {
		next, ok = end, true // a parked message's lease ends
	}
	return next, ok, err
}

// ReleaseLeases makes every leased waiting message due at now and ends
// every open test message as failed (see sqlstore.Store.ReleaseLeases),
// parked messages handed out included.
func (db *DB) ReleaseLeases(ctx context.Context, now time.Time) error {
	err := db.shared.ReleaseLeases(ctx, now)
	if err == nil {
		db.fresh.forgetAll()
	}
	return err
}

// DeferMessage makes the message leased with lease due again at due without
// an attempt (see sqlstore.Store.DeferMessage), committed with
// synchronous=NORMAL.
func (db *DB) DeferMessage(ctx context.Context, messageID string, lease int64, due time.Time) error {
	return db.DeferMessages(ctx, []hookd.Deferral{{MessageID: messageID, Lease: lease, Due: due}})
}

// DeferMessages is DeferMessage for each of ds, in one transaction.
func (db *DB) DeferMessages(ctx context.Context, ds []hookd.Deferral) error {
	err := db.shared.DeferMessages(ctx, ds)
	if err == nil {
		var parked []string
		for _, d := range ds {
			if d.Lease != 0 && d.Lease == db.parkToken {
				parked = append(parked, d.MessageID)
			}
		}
		db.fresh.done(parked...)
	}
	return err
}

// Complete applies the outcomes in one transaction (group commit), see
// sqlstore.CompleteTx, with their operational events, and tells the
// observers their transitions and events once committed. EINVALID for
// an outcome state other than successful, retrying or failed.
func (db *DB) Complete(ctx context.Context, outcomes []hookd.Outcome, now time.Time) error {
	if err := hookd.CheckOutcomes(outcomes); err != nil {
		return err
	}
	if len(outcomes) == 0 {
		return nil
	}
	// Complete shares the writer's rounds with Publish (publish.go): when
	// both flow, one commit serves both, and neither waits for the
	// other's transaction.
	c := &publishCall{outs: outcomes, now: now}
	if err := db.pub.Run(ctx, c); err != nil {
		return err
	}
	if c.err == nil {
		var parked []string
		for _, o := range outcomes {
			if o.Lease == db.parkToken {
				parked = append(parked, o.MessageID)
			}
		}
		db.fresh.done(parked...)
		db.Notify(c.trans)
		db.NotifyOperational(c.ops)
		db.KeepStats(c.trans)
	}
	return sqlstore.Internal("complete attempts", db.Wrote(c.err))
}
