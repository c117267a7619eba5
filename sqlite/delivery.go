package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/hookd/hookd"
)

// The message invariants this file keeps:
//
//   - due_at is set exactly when a message is created or retrying and not
//     held (then it is when the message becomes due), or leased (then it is
//     when the lease ends and the message becomes due again by itself).
//   - A pending message is held: its webhook is not active, or an earlier
//     message of its group blocks it. It has no due_at.
//   - A message blocks the later messages of its (webhook, group) while it
//     is created, pending or retrying, or failed while the webhook has
//     continue_on_failure false.

// groupIndexTerms repeats the partial index messages_group's WHERE clause so
// that SQLite's planner may use the index (it must see the same terms).
const groupIndexTerms = `group_key != '' AND state IN ('created', 'pending', 'retrying', 'failed')`

// newLease returns a fresh non-zero lease token.
func newLease() int64 {
	for {
		if v := rand.Int64(); v != 0 {
			return v
		}
	}
}

// holdWebhook makes the webhook's waiting (created, retrying) messages
// pending. A message in flight keeps its lease, so its outcome still
// applies. A test message is not held: it is being sent regardless of the
// webhook's state, and a held one would later be released as claimable.
func holdWebhook(ctx context.Context, tx *wtx, webhookID string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE messages SET state = 'pending', due_at = NULL, updated_at = ?
		WHERE webhook_id = ? AND state IN ('created', 'retrying') AND test = 0`, ms(now), webhookID)
	if err != nil {
		return fmt.Errorf("hold messages: %w", err)
	}
	return nil
}

// releaseSet is the SET clause that makes a pending message waiting again:
// retrying if it was attempted before, else created; due when it was last
// scheduled (a held retry keeps its backoff), or since its creation when it
// never was. A past due time is due at once, and the oldest go first, so
// released messages resume in order without needing the caller's clock.
// Argument: updated_at.
const releaseSet = `state = CASE WHEN attempt_count > 0 THEN 'retrying' ELSE 'created' END,
	due_at = coalesce(next_attempt_at, created_at), next_attempt_at = coalesce(next_attempt_at, created_at),
	updated_at = ?`

// releaseWebhook releases an active webhook's held messages: every pending
// message outside a group, and the head of each group.
func releaseWebhook(ctx context.Context, tx *wtx, w *hookd.Webhook, now time.Time) error {
	if !w.Active() {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "UPDATE messages SET "+releaseSet+
		" WHERE webhook_id = ? AND state = 'pending' AND group_key = ''",
		ms(now), w.ID); err != nil {
		return fmt.Errorf("release messages: %w", err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT group_key FROM messages WHERE webhook_id = ? AND "+
		groupIndexTerms+" AND state = 'pending'", w.ID)
	if err != nil {
		return fmt.Errorf("list held groups: %w", err)
	}
	var groups []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			rows.Close()
			return fmt.Errorf("list held groups: %w", err)
		}
		groups = append(groups, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list held groups: %w", err)
	}
	for _, g := range groups {
		if err := releaseGroup(ctx, tx, w, g, now); err != nil {
			return err
		}
	}
	return nil
}

// releaseGroup releases the first unfinished message of the group if it is
// pending, nothing blocks it and the webhook is active.
func releaseGroup(ctx context.Context, tx *wtx, w *hookd.Webhook, group string, now time.Time) error {
	if w == nil || !w.Active() || group == "" {
		return nil
	}
	var seq int64
	var state string
	err := tx.QueryRowContext(ctx, `SELECT seq, state FROM messages
		WHERE webhook_id = ? AND group_key = ? AND `+groupIndexTerms+` AND (state != 'failed' OR ? = 0)
		ORDER BY seq LIMIT 1`, w.ID, group, w.ContinueOnFailure).Scan(&seq, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("find group head: %w", err)
	}
	if hookd.MessageState(state) != hookd.StatePending {
		return nil // the head is waiting, in flight or a blocking failure
	}
	if _, err := tx.ExecContext(ctx, "UPDATE messages SET "+releaseSet+" WHERE seq = ?",
		ms(now), seq); err != nil {
		return fmt.Errorf("release group head: %w", err)
	}
	return nil
}

// blocked reports whether a message of w's group at seq (math.MaxInt64 for
// one not inserted yet) has an earlier message that blocks it.
func blocked(ctx context.Context, tx *wtx, w *hookd.Webhook, group string, seq int64) (bool, error) {
	if group == "" {
		return false, nil
	}
	var n int
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM messages
		WHERE webhook_id = ? AND group_key = ? AND `+groupIndexTerms+` AND seq < ? AND (state != 'failed' OR ? = 0))`,
		w.ID, group, seq, w.ContinueOnFailure).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check group order: %w", err)
	}
	return n > 0, nil
}

const messageColumns = `id, tenant_id, webhook_id, event_id, event_type, event_group, state, attempt_count, tries,
	next_attempt_at, last_attempt_at, last_status_code, last_error, created_at, updated_at`

func scanMessage(sc interface{ Scan(...any) error }, extra ...any) (*hookd.Message, error) {
	var m hookd.Message
	var next, last sql.NullInt64
	var created, updated int64
	dst := []any{&m.ID, &m.TenantID, &m.WebhookID, &m.EventID, &m.EventType, &m.Group, &m.State,
		&m.AttemptCount, &m.Tries, &next, &last, &m.LastStatusCode, &m.LastError, &created, &updated}
	if err := sc.Scan(append(dst, extra...)...); err != nil {
		return nil, err
	}
	m.NextAttemptAt = fromNullMS(next)
	m.LastAttemptAt = fromNullMS(last)
	m.CreatedAt = fromMS(created)
	m.UpdatedAt = fromMS(updated)
	return &m, nil
}

// Claim leases up to limit due messages (oldest due first) until now+lease
// and returns them with their events and webhooks. It reads only the
// messages_due index, so its cost does not depend on how many messages wait
// for a later time.
func (db *DB) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*hookd.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	token := newLease()
	var out []*hookd.Delivery
	err := db.txSync(ctx, syncNormal, func(tx *wtx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE messages SET due_at = ?, lease = ?
			WHERE seq IN (SELECT seq FROM messages WHERE due_at <= ? ORDER BY due_at LIMIT ?)
			RETURNING `+messageColumns+`, manual, seq`, ms(now.Add(lease)), token, ms(now), limit)
		if err != nil {
			return err
		}
		type claimed struct {
			m      *hookd.Message
			manual bool
			seq    int64
		}
		var batch []claimed
		for rows.Next() {
			var c claimed
			if c.m, err = scanMessage(rows, &c.manual, &c.seq); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		sort.Slice(batch, func(i, j int) bool { return batch[i].seq < batch[j].seq })
		eventIDs := make([]string, 0, len(batch))
		webhookIDs := make([]string, 0, len(batch))
		for _, c := range batch {
			eventIDs = append(eventIDs, c.m.EventID)
			webhookIDs = append(webhookIDs, c.m.WebhookID)
		}
		events, err := eventsByID(ctx, tx, eventIDs)
		if err != nil {
			return err
		}
		hooks, err := webhooksByID(ctx, tx, webhookIDs)
		if err != nil {
			return err
		}
		out = make([]*hookd.Delivery, 0, len(batch))
		for _, c := range batch {
			ev, okE := events[c.m.EventID]
			w, okW := hooks[c.m.WebhookID]
			if !okE || !okW {
				// Cannot happen while the invariants hold (deleting a
				// webhook aborts its messages); end it rather than claim
				// it forever.
				if _, err := tx.ExecContext(ctx, `UPDATE messages SET state = 'aborted', due_at = NULL, lease = 0,
					next_attempt_at = NULL, updated_at = ? WHERE seq = ?`, ms(now), c.seq); err != nil {
					return err
				}
				continue
			}
			trigger := hookd.TriggerScheduled
			if c.manual {
				trigger = hookd.TriggerManual
			}
			out = append(out, &hookd.Delivery{Message: *c.m, Event: *ev, Webhook: *w, Lease: token, Trigger: trigger})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim due messages: %w", err)
	}
	return out, nil
}

// uniq returns ids without duplicates.
func uniq(ids []string) []any {
	seen := make(map[string]bool, len(ids))
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func eventsByID(ctx context.Context, q queryer, ids []string) (map[string]*hookd.Event, error) {
	args := uniq(ids)
	rows, err := q.QueryContext(ctx, "SELECT "+eventColumns+" FROM events WHERE id IN ("+placeholders(len(args))+")", args...)
	if err != nil {
		return nil, fmt.Errorf("load events: %w", err)
	}
	defer rows.Close()
	out := make(map[string]*hookd.Event, len(args))
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("load events: %w", err)
		}
		out[ev.ID] = ev
	}
	return out, rows.Err()
}

func webhooksByID(ctx context.Context, q queryer, ids []string) (map[string]*hookd.Webhook, error) {
	args := uniq(ids)
	rows, err := q.QueryContext(ctx, "SELECT "+webhookColumns+" FROM webhooks WHERE id IN ("+placeholders(len(args))+")", args...)
	if err != nil {
		return nil, fmt.Errorf("load webhooks: %w", err)
	}
	defer rows.Close()
	out := make(map[string]*hookd.Webhook, len(args))
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("load webhooks: %w", err)
		}
		out[w.ID] = w
	}
	return out, rows.Err()
}

// NextDue returns the earliest due_at: when a waiting message becomes due
// or a lease ends.
func (db *DB) NextDue(ctx context.Context) (time.Time, bool, error) {
	var v sql.NullInt64
	if err := db.read.QueryRowContext(ctx, "SELECT min(due_at) FROM messages WHERE due_at IS NOT NULL").Scan(&v); err != nil {
		return time.Time{}, false, fmt.Errorf("next due: %w", err)
	}
	if !v.Valid {
		return time.Time{}, false, nil
	}
	return fromMS(v.Int64), true, nil
}

// ReleaseLeases makes every leased waiting message due at now and ends
// every open test message as failed (see hookd.Store). A test message is
// open while it still has the lease CreateTestMessage gave it: no due_at
// (a test message retried by hand and claimed has one, and is released
// like any other).
func (db *DB) ReleaseLeases(ctx context.Context, now time.Time) error {
	err := db.tx(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET state = 'failed', lease = 0, next_attempt_at = NULL,
			updated_at = ? WHERE test = 1 AND lease != 0 AND due_at IS NULL AND state IN ('created', 'pending', 'retrying')`,
			ms(now)); err != nil {
			return fmt.Errorf("end open test messages: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE messages SET due_at = ?, lease = 0 WHERE due_at IS NOT NULL AND lease != 0",
			ms(now)); err != nil {
			return fmt.Errorf("make leased messages due: %w", err)
		}
		return nil
	})
	return internal("release leases", err)
}

// DeferMessage makes the message leased with lease due again at due without
// an attempt: the lease ends, next_attempt_at is due, and due_at is due
// unless the message was held while in flight (pending: it stays held and
// resumes at due when released). A stale lease, a missing message and a
// test message are ignored.
func (db *DB) DeferMessage(ctx context.Context, messageID string, lease int64, due time.Time) error {
	if lease == 0 {
		return nil
	}
	err := db.txSync(ctx, syncNormal, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `UPDATE messages SET lease = 0, next_attempt_at = ?,
			due_at = CASE WHEN state = 'pending' THEN NULL ELSE ? END, updated_at = ?
			WHERE id = ? AND lease = ? AND test = 0 AND state IN ('created', 'pending', 'retrying')`,
			ms(due), ms(due), ms(db.now()), messageID, lease)
		return err
	})
	return internal("defer message", err)
}

// Complete applies the outcomes in one transaction (group commit). Each
// attempt is recorded (under Attempt.ID when set) and counted even when its
// lease is stale; only an outcome whose lease is current moves its message.
// An outcome whose attempt id is already stored is skipped: it was applied
// by an earlier call whose answer was lost. The webhook's failure streak
// follows every recorded attempt but a test one. EINVALID for an outcome
// state other than successful, retrying or failed.
func (db *DB) Complete(ctx context.Context, outcomes []hookd.Outcome, now time.Time) error {
	for _, o := range outcomes {
		switch o.State {
		case hookd.StateSuccessful, hookd.StateRetrying, hookd.StateFailed:
		default:
			return hookd.Errorf(hookd.EINVALID, "outcome state %q is not successful, retrying or failed", o.State)
		}
	}
	err := db.txSync(ctx, syncNormal, func(tx *wtx) error {
		hooks := map[string]*hookd.Webhook{} // nil: deleted
		webhook := func(tenantID, id string) (*hookd.Webhook, error) {
			if w, ok := hooks[id]; ok {
				return w, nil
			}
			w, err := getWebhook(ctx, tx, tenantID, id)
			if hookd.ErrorCode(err) == hookd.ENOTFOUND {
				w, err = nil, nil
			}
			if err != nil {
				return nil, err
			}
			hooks[id] = w
			return w, nil
		}
		for _, o := range outcomes {
			var seq, lease int64
			var tenantID, webhookID, group string
			var count int
			var test bool
			err := tx.QueryRowContext(ctx, `SELECT seq, tenant_id, webhook_id, group_key, attempt_count, lease, test
				FROM messages WHERE id = ?`, o.MessageID).Scan(&seq, &tenantID, &webhookID, &group, &count, &lease, &test)
			if errors.Is(err, sql.ErrNoRows) {
				continue // deleted with its tenant meanwhile: nothing to record it on
			} else if err != nil {
				return err
			}
			a := o.Attempt
			if a.StartedAt.IsZero() {
				a.StartedAt = now
			}
			if a.Trigger == "" {
				a.Trigger = hookd.TriggerScheduled
				if test {
					a.Trigger = hookd.TriggerTest
				}
			}
			if a.ID == "" {
				a.ID = hookd.NewID(hookd.PrefixAttempt)
			}
			res, err := tx.ExecContext(ctx, insAttemptSQL, a.ID, tenantID, o.MessageID, webhookID,
				count+1, string(a.Trigger), ms(a.StartedAt), a.DurationMS, a.StatusCode, a.Error, a.ResponseBody,
				a.Success)
			if err != nil {
				return fmt.Errorf("insert attempt: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("insert attempt: %w", err)
			} else if n == 0 {
				continue // this attempt was recorded, and its outcome applied, by an earlier Complete
			}
			w, err := webhook(tenantID, webhookID)
			if err != nil {
				return err
			}
			if lease == 0 || lease != o.Lease {
				if _, err := tx.ExecContext(ctx, "UPDATE messages SET attempt_count = attempt_count + 1, updated_at = ? WHERE seq = ?",
					ms(now), seq); err != nil {
					return err
				}
			} else {
				state := o.State
				var next, due any
				if state == hookd.StateRetrying {
					at := o.NextAttemptAt
					if at.IsZero() {
						at = now
					}
					next = ms(at)
					if w != nil && w.Active() {
						due = ms(at)
					} else {
						state = hookd.StatePending
					}
				}
				if _, err := tx.ExecContext(ctx, `UPDATE messages SET state = ?, attempt_count = attempt_count + 1,
					tries = tries + 1, next_attempt_at = ?, due_at = ?, lease = 0, manual = 0, last_attempt_at = ?,
					last_status_code = ?, last_error = ?, updated_at = ? WHERE seq = ?`,
					string(state), next, due, ms(a.StartedAt), a.StatusCode, a.Error, ms(now), seq); err != nil {
					return err
				}
				ended := state == hookd.StateSuccessful || (state == hookd.StateFailed && w != nil && w.ContinueOnFailure)
				if ended && group != "" {
					if err := releaseGroup(ctx, tx, w, group, now); err != nil {
						return err
					}
				}
			}
			if a.Trigger != hookd.TriggerTest {
				if err := keepStreak(ctx, tx, w, a, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return internal("complete attempts", err)
}

// keepStreak updates w's failure streak after attempt a and suspends w when
// the streak has lasted failure_handling.suspend_after.
func keepStreak(ctx context.Context, tx *wtx, w *hookd.Webhook, a hookd.Attempt, now time.Time) error {
	if w == nil {
		return nil
	}
	if a.Success {
		if w.FailingSince == nil {
			return nil
		}
		w.FailingSince = nil
		_, err := tx.ExecContext(ctx, "UPDATE webhooks SET failing_since = NULL WHERE id = ?", w.ID)
		return err
	}
	if w.FailingSince == nil {
		t := fromMS(ms(a.StartedAt))
		w.FailingSince = &t
		if _, err := tx.ExecContext(ctx, "UPDATE webhooks SET failing_since = ? WHERE id = ?", ms(t), w.ID); err != nil {
			return err
		}
	}
	limit := time.Duration(w.FailureHandling.SuspendAfter)
	if limit > 0 && !w.Suspended && now.Sub(*w.FailingSince) >= limit {
		return suspendWebhook(ctx, tx, w, now)
	}
	return nil
}

const insAttemptSQL = `INSERT INTO attempts (id, tenant_id, message_id, webhook_id, number,
			trigger, started_at, duration_ms, status_code, error, response_body, success)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`
