package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlstore"
)

// claimQuery leases up to $2 messages due at $1, oldest due first, until
// $3 with token $4, and reads their events and webhooks, in one statement
// outside any transaction:
//
//   - FOR UPDATE SKIP LOCKED passes over the messages another node's Claim
//     (or a Complete, a DeferMessages) holds, so claims of several nodes
//     never lease one message twice and never wait for each other;
//   - it reads only the messages_due index, so its cost does not depend
//     on how many messages wait for a later time;
//   - set_config makes its commit lazy (a lost claim leaves its messages
//     due);
//   - each webhook's columns come with its first message only (the others'
//     are NULL): a claim of many messages of one webhook reads and opens
//     its secrets once.
//
// The event's columns are never NULL (coalesce); has_event says whether
// the event was found, has_webhook whether the row carries its webhook.
var claimQuery = `WITH due AS MATERIALIZED (
		SELECT seq FROM messages WHERE due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED
	), lazy AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)),
	leased AS (
		UPDATE messages m SET due_at = $3, lease = $4 FROM due, lazy WHERE m.seq = due.seq
		RETURNING ` + sqlstore.MessageColumns + `, manual, m.seq
	), numbered AS (
		SELECT leased.*, row_number() OVER (PARTITION BY webhook_id ORDER BY seq) AS nth FROM leased
	)
	SELECT ` + sqlstore.Qualified("n", sqlstore.MessageColumns) + `, n.manual, n.seq, ` + eventOrBlank + `,
		e.id IS NOT NULL AS has_event, w.id IS NOT NULL AS has_webhook, ` + sqlstore.Qualified("w", sqlstore.WebhookColumns) + `
	FROM numbered n LEFT JOIN events e ON e.id = n.event_id LEFT JOIN webhooks w ON w.id = n.webhook_id AND n.nth = 1
	ORDER BY n.seq`

// eventOrBlank is the event's columns of claimQuery, blank when the event
// is gone.
var eventOrBlank = func() string {
	var out []string
	for _, c := range strings.Split(sqlstore.EventColumns, ",") {
		c = strings.TrimSpace(c)
		blank := "''"
		if c == "created_at" {
			blank = "0"
		}
		out = append(out, "coalesce(e."+c+", "+blank+")")
	}
	return strings.Join(out, ", ")
}()

// webhookSkip is how many columns of claimQuery come before the webhook's.
var webhookSkip = sqlstore.ColumnCount(sqlstore.MessageColumns) + 2 + sqlstore.ColumnCount(sqlstore.EventColumns) + 2

// Claim leases up to limit due messages until now+lease, oldest due first,
// and returns them with their events and webhooks; see claimQuery.
func (db *DB) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*hookd.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	token := sqlstore.NewLease()
	var batch []sqlstore.Claimed
	hooks := map[string]*hookd.Webhook{}
	err := sqlstore.QueryRows(ctx, db.pool, claimQuery, []any{sqlstore.MS(now), limit, sqlstore.MS(now.Add(lease)), token},
		func(rows *sql.Rows) error {
			var cl sqlstore.Claimed
			var ev sqlstore.EventRow
			var hasEvent, hasWebhook bool
			extra := append(append([]any{&cl.Manual, &cl.Seq}, ev.Dests()...), &hasEvent, &hasWebhook)
			for range sqlstore.ColumnCount(sqlstore.WebhookColumns) {
				extra = append(extra, sqlstore.Discard{})
			}
			var err error
			if cl.M, err = sqlstore.ScanMessage(rows, extra...); err != nil {
				return err
			}
			if hasEvent {
				if cl.Ev, err = ev.Event(); err != nil {
					return err
				}
			}
			if hasWebhook {
				w, err := db.ScanWebhook(sqlstore.SkipScanner{Rows: rows, Skip: webhookSkip})
				if err != nil {
					return err
				}
				hooks[w.ID] = w
			}
			batch = append(batch, cl)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("claim due messages: %w", db.Wrote(err))
	}
	for i := range batch {
		batch[i].W = hooks[batch[i].M.WebhookID] // nil: the webhook is gone, an orphan
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
	db.KeepStats(ts)
	return nil
}
