package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// GetMessage returns the tenant's message; ENOTFOUND.
func (s *Store) GetMessage(ctx context.Context, tenantID, id string) (_ *hookd.Message, err error) {
	defer s.readFailed(&err)
	return getMessage(ctx, s.Read, tenantID, id)
}

func getMessage(ctx context.Context, q Queryer, tenantID, id string) (*hookd.Message, error) {
	m, err := ScanMessage(q.QueryRowContext(ctx, "SELECT "+MessageColumns+" FROM messages WHERE id = ? AND tenant_id = ?", id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "message not found")
	} else if err != nil {
		return nil, fmt.Errorf("get message: %w", err)
	}
	return m, nil
}

// ListMessages returns one page of the tenant's messages in id order.
func (s *Store) ListMessages(ctx context.Context, tenantID string, f hookd.MessageFilter) (_ []*hookd.Message, err error) {
	defer s.readFailed(&err)
	query, args := ListMessagesQuery(tenantID, f)
	return queryList(ctx, s.Read, "messages", query, args,
		func(sc interface{ Scan(...any) error }) (*hookd.Message, error) { return ScanMessage(sc) })
}

// ListMessagesQuery returns ListMessages' query and its arguments.
func ListMessagesQuery(tenantID string, f hookd.MessageFilter) (string, []any) {
	where := []string{"tenant_id = ?", "id > ?"}
	args := []any{tenantID, f.After}
	if f.WebhookID != "" {
		where = append(where, "webhook_id = ?")
		args = append(args, f.WebhookID)
	}
	if f.EventID != "" {
		where = append(where, "event_id = ?")
		args = append(args, f.EventID)
	}
	// A filter on failed alone (the API's and UI's "what failed?") is
	// written as the literal term state = 'failed', which lets the planner
	// use the partial index messages_failed: the page is an index range.
	// Other states have no index of their own (they change on every
	// attempt, see the SQLite store's migrations/0003): such a filter reads the tenant's (or
	// webhook's) messages in id order through messages_tenant or
	// messages_webhook until the page is full, as many rows as it skips.
	failedOnly := !slices.ContainsFunc(f.States, func(s hookd.MessageState) bool { return s != hookd.StateFailed })
	switch {
	case len(f.States) > 0 && failedOnly:
		where = append(where, "state = 'failed'")
	case len(f.States) > 0:
		where = append(where, "state IN ("+Placeholders(len(f.States))+")")
		for _, s := range f.States {
			args = append(args, string(s))
		}
	}
	if f.EventType != "" {
		where = append(where, "event_type = ?")
		args = append(args, f.EventType)
	}
	where, args = createdBetween(where, args, f.Since, f.Until)
	return "SELECT " + MessageColumns + " FROM messages WHERE " + strings.Join(where, " AND ") +
		" ORDER BY id LIMIT ?", append(args, limitOf(f.Page))
}

// ListAttempts returns one page of a message's attempts in id order;
// ENOTFOUND when the tenant has no such message.
func (s *Store) ListAttempts(ctx context.Context, tenantID, messageID string, p hookd.Page) (_ []*hookd.Attempt, err error) {
	defer s.readFailed(&err)
	if _, err := getMessage(ctx, s.Read, tenantID, messageID); err != nil {
		return nil, err
	}
	rows, err := s.Read.QueryContext(ctx, ListAttemptsQuery, messageID, tenantID, p.After, limitOf(p))
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	defer rows.Close()
	out := []*hookd.Attempt{}
	for rows.Next() {
		var a hookd.Attempt
		var started int64
		if err := rows.Scan(&a.ID, &a.TenantID, &a.MessageID, &a.WebhookID, &a.Number, &a.Trigger, &started,
			&a.DurationMS, &a.StatusCode, &a.Error, &a.ResponseBody, &a.Success); err != nil {
			return nil, fmt.Errorf("list attempts: %w", err)
		}
		a.StartedAt = FromMS(started)
		out = append(out, &a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	return out, nil
}

// ListAttemptsQuery reads a page of a message's attempts through
// attempts_message. Arguments: message id, tenant id, after, limit.
const ListAttemptsQuery = `SELECT id, tenant_id, message_id, webhook_id, number, trigger, started_at,
	duration_ms, status_code, error, response_body, success FROM attempts
	WHERE message_id = ? AND tenant_id = ? AND id > ? ORDER BY id LIMIT ?`

// msgRow is what the manual operations need of a message.
type msgRow struct {
	seq          int64
	webhookID    string
	group        string
	state        hookd.MessageState
	attemptCount int
}

func lockMessage(ctx context.Context, tx Conn, tenantID, id string) (msgRow, error) {
	var r msgRow
	err := tx.QueryRowContext(ctx, "SELECT seq, webhook_id, group_key, state, attempt_count FROM messages WHERE id = ? AND tenant_id = ?",
		id, tenantID).Scan(&r.seq, &r.webhookID, &r.group, &r.state, &r.attemptCount)
	if errors.Is(err, sql.ErrNoRows) {
		return r, hookd.Errorf(hookd.ENOTFOUND, "message not found")
	}
	return r, err
}

// requeue starts a new attempt cycle for the message: a fresh retry budget,
// the next attempt manual and due at now, unless its webhook is inactive or
// an earlier message of its group blocks it (then it is pending).
func requeue(ctx context.Context, tx Conn, w *hookd.Webhook, r msgRow, now time.Time) error {
	state := hookd.StateCreated
	if r.attemptCount > 0 {
		state = hookd.StateRetrying
	}
	due := any(MS(now))
	isBlocked, err := blocked(ctx, tx, w, r.group, r.seq)
	if err != nil {
		return err
	}
	if !w.Active() || isBlocked {
		state, due = hookd.StatePending, nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE messages SET state = ?, tries = 0, manual = 1, due_at = ?, next_attempt_at = ?,
		lease = 0, updated_at = ? WHERE seq = ?`, string(state), due, MS(now), MS(now), r.seq)
	return err
}

// RetryMessage schedules a manual attempt at now with a fresh retry budget
// (pending instead while its webhook is inactive or its group is blocked
// by an earlier message). ENOTFOUND; ECONFLICT for a successful message or
// one whose webhook was deleted.
func (s *Store) RetryMessage(ctx context.Context, tenantID, id string, now time.Time) (*hookd.Message, error) {
	var out *hookd.Message
	err := s.Tx(ctx, func(tx Conn) error {
		r, err := lockMessage(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		if r.state == hookd.StateSuccessful {
			return hookd.Errorf(hookd.ECONFLICT, "message was delivered successfully")
		}
		w, err := s.getWebhook(ctx, tx, tenantID, r.webhookID)
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			return hookd.Errorf(hookd.ECONFLICT, "the message's webhook was deleted")
		} else if err != nil {
			return err
		}
		if err := requeue(ctx, tx, w, r, now); err != nil {
			return err
		}
		out, err = getMessage(ctx, tx, tenantID, id)
		return err
	})
	if err != nil {
		return nil, Internal("retry message", err)
	}
	return out, nil
}

// endMessage moves a created, pending, retrying or failed message to state
// (aborted or resolved) and releases its group; ECONFLICT from any other
// state.
func (s *Store) endMessage(ctx context.Context, tenantID, id string, state hookd.MessageState, now time.Time) (*hookd.Message, error) {
	var out *hookd.Message
	err := s.Tx(ctx, func(tx Conn) error {
		r, err := lockMessage(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		switch r.state {
		case hookd.StateCreated, hookd.StatePending, hookd.StateRetrying, hookd.StateFailed:
		default:
			return hookd.Errorf(hookd.ECONFLICT, "message is %s", r.state)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET state = ?, due_at = NULL, lease = 0, next_attempt_at = NULL,
			updated_at = ? WHERE seq = ?`, string(state), MS(now), r.seq); err != nil {
			return err
		}
		if r.group != "" {
			w, err := s.getWebhook(ctx, tx, tenantID, r.webhookID)
			if err == nil {
				err = releaseGroup(ctx, tx, w, r.group, now)
			} else if hookd.ErrorCode(err) == hookd.ENOTFOUND {
				err = nil
			}
			if err != nil {
				return err
			}
		}
		out, err = getMessage(ctx, tx, tenantID, id)
		return err
	})
	if err != nil {
		return nil, Internal(string(state)+" message", err)
	}
	return out, nil
}

// AbortMessage ends a created, pending, retrying or failed message as
// aborted and releases its group. ENOTFOUND; ECONFLICT otherwise.
func (s *Store) AbortMessage(ctx context.Context, tenantID, id string, now time.Time) (*hookd.Message, error) {
	return s.endMessage(ctx, tenantID, id, hookd.StateAborted, now)
}

// ResolveMessage marks a created, pending, retrying or failed message
// resolved and releases its group. ENOTFOUND; ECONFLICT otherwise.
func (s *Store) ResolveMessage(ctx context.Context, tenantID, id string, now time.Time) (*hookd.Message, error) {
	return s.endMessage(ctx, tenantID, id, hookd.StateResolved, now)
}

// RecoverQuery selects the failed messages of a webhook created in a time
// range, in publish order, but not its test messages: a test call is made
// once and never retried. Its term state = 'failed' must stay a literal:
// only then may the planner use the partial index messages_failed_webhook
// (sqlite's TestQueryPlans checks it does). Arguments: webhook id, since, until.
const RecoverQuery = `SELECT seq, webhook_id, group_key, state, attempt_count FROM messages
	WHERE webhook_id = ? AND state = 'failed' AND test = 0 AND created_at >= ? AND created_at < ? ORDER BY seq`

// RecoverMessages requeues, like RetryMessage and in publish order, every
// failed message of the webhook created in [since, until) (a zero until:
// no upper bound) but its test messages, and returns how many. ENOTFOUND.
func (s *Store) RecoverMessages(ctx context.Context, tenantID, webhookID string, since, until time.Time, now time.Time) (int, error) {
	n := 0
	err := s.Tx(ctx, func(tx Conn) error {
		w, err := s.getWebhook(ctx, tx, tenantID, webhookID)
		if err != nil {
			return err
		}
		upper := int64(1<<63 - 1)
		if !until.IsZero() {
			upper = MS(until)
		}
		rows, err := tx.QueryContext(ctx, RecoverQuery, webhookID, MS(since), upper)
		if err != nil {
			return err
		}
		var batch []msgRow
		for rows.Next() {
			var r msgRow
			if err := rows.Scan(&r.seq, &r.webhookID, &r.group, &r.state, &r.attemptCount); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range batch {
			if err := requeue(ctx, tx, w, r, now); err != nil {
				return err
			}
		}
		n = len(batch)
		return nil
	})
	if err != nil {
		return 0, Internal("recover messages", err)
	}
	return n, nil
}

// CreateTestMessage stores ev and a message for the webhook, already leased
// to the caller (never claimable, outside any group, marked test so that
// no hold, deferral or streak applies to it and ReleaseLeases can end it),
// and returns it as a Delivery with TriggerTest. It is sent even when the
// webhook is inactive. ENOTFOUND.
func (s *Store) CreateTestMessage(ctx context.Context, tenantID, webhookID string, in hookd.EventInput, now time.Time) (*hookd.Delivery, error) {
	var d *hookd.Delivery
	err := s.Tx(ctx, func(tx Conn) error {
		w, err := s.getWebhook(ctx, tx, tenantID, webhookID)
		if err != nil {
			return err
		}
		ev, err := insertEvent(ctx, tx, tenantID, &in, now)
		if err != nil {
			return err
		}
		id := hookd.NewID(hookd.PrefixMessage)
		lease := NewLease()
		// The seq is the one SQLite gives a rowid alias by default; a
		// PostgreSQL BIGINT column has no default.
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages (seq, id, tenant_id, webhook_id, event_id, event_type,
			event_group, group_key, state, lease, test, created_at, updated_at)
			VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM messages), ?, ?, ?, ?, ?, ?, '', 'created', ?, 1, ?, ?)`,
			id, tenantID, webhookID, ev.ID, ev.Type, ev.Group, lease, MS(now), MS(now)); err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
		m, err := getMessage(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		d = &hookd.Delivery{Message: *m, Event: *ev, Webhook: *w, Lease: lease, Trigger: hookd.TriggerTest}
		return nil
	})
	if err != nil {
		return nil, Internal("create test message", err)
	}
	return d, nil
}
