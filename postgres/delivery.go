package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sqlstore"
)

// Claim leases up to limit due messages until now+lease, oldest due first,
// and returns them with their events and webhooks. It reads only the
// messages_due index, so its cost does not depend on how many messages
// wait for a later time. The write transaction only leases; events and
// webhooks are read after its commit.
func (db *DB) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*hookd.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	cl := &sqlstore.ClaimCall{Limit: limit, Lease: lease, Token: sqlstore.NewLease()}
	err := db.txLazy(ctx, func(tx *wtx) error {
		var err error
		cl.Out, err = sqlstore.LeaseDueTx(ctx, tx, &dialect, cl, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim due messages: %w", err)
	}
	return db.DeliveriesOf(ctx, cl.Out, cl.Token, now)
}

// NextDue returns the earliest due_at: when a waiting message becomes due
// or a lease ends.
func (db *DB) NextDue(ctx context.Context) (time.Time, bool, error) {
	return db.MinDue(ctx)
}

// Complete applies the outcomes in one transaction, see
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
	var ts []hookd.Transition
	var ops []hookd.OperationalEvent
	err := db.txLazy(ctx, func(tx *wtx) (err error) {
		ts, ops, err = sqlstore.CompleteTx(ctx, tx, &dialect, &sqlstore.PendingRows{}, outcomes, now)
		return err
	})
	if err != nil {
		return sqlstore.Internal("complete attempts", err)
	}
	db.Notify(ts)
	db.NotifyOperational(ops)
	db.KeepStats(ts)
	return nil
}
