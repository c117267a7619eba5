package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sqlstore"
)

// claimQuery leases up to $2 messages due at $1, oldest due first, until
// $3 with token $4, in one statement outside any transaction: FOR UPDATE
// SKIP LOCKED passes over the messages another node's Claim (or a
// Complete, a DeferMessage) holds, so claims of several nodes never lease
// one message twice and never wait for each other. The statement commits
// lazily (a lost claim leaves its messages due). It reads only the
// messages_due index, so its cost does not depend on how many messages
// wait for a later time.
const claimQuery = `WITH due AS MATERIALIZED (
		SELECT seq FROM messages WHERE due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED
	), lazy AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))
	UPDATE messages m SET due_at = $3, lease = $4 FROM due, lazy WHERE m.seq = due.seq
	RETURNING ` + sqlstore.MessageColumns + `, manual, m.seq`

// Claim leases up to limit due messages until now+lease, oldest due first,
// and returns them with their events and webhooks; see claimQuery.
func (db *DB) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*hookd.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	token := sqlstore.NewLease()
	var batch []sqlstore.Claimed
	err := sqlstore.QueryRows(ctx, db.pool, claimQuery, []any{sqlstore.MS(now), limit, sqlstore.MS(now.Add(lease)), token},
		func(rows *sql.Rows) error {
			var cl sqlstore.Claimed
			var err error
			cl.M, err = sqlstore.ScanMessage(rows, &cl.Manual, &cl.Seq)
			batch = append(batch, cl)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("claim due messages: %w", db.Wrote(err))
	}
	return db.DeliveriesOf(ctx, batch, token, now)
}

// NextDue returns the earliest due_at: when a waiting message becomes due
// or a lease ends.
func (db *DB) NextDue(ctx context.Context) (time.Time, bool, error) {
	return db.MinDue(ctx)
}

// Complete applies the outcomes in one transaction, see
// sqlstore.CompleteTx, with their operational events, and tells the
// observers their transitions and events once committed. The transaction
// holds the write lock shared, as Complete of other nodes and Publish do;
// one that would suspend a webhook is rolled back and run again holding
// it exclusively (see lockRound). EINVALID for
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
	apply := func(tx *wtx) (err error) {
		ts, ops, err = sqlstore.CompleteTx(ctx, tx, &db.Dialect, &sqlstore.PendingRows{}, outcomes, now)
		return err
	}
	err := db.runTx(ctx, engine, apply)
	if errors.Is(err, errExclusive) {
		err = db.runTx(ctx, txMode{lazy: true}, apply)
	}
	if err = db.Wrote(err); err != nil {
		return sqlstore.Internal("complete attempts", err)
	}
	db.Notify(ts)
	db.NotifyOperational(ops)
	return nil
}
