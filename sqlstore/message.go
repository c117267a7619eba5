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
		where = append(where, "state = "+Lit(hookd.StateFailed))
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

// lockMessage reads the tenant's message for a manual action, in the
// action's write transaction, locked (d.ForUpdate: a Claim of another
// PostgreSQL node must not lease it meanwhile); ENOTFOUND.
func lockMessage(ctx context.Context, tx Conn, d *Dialect, tenantID, id string) (int64, hookd.MessageStatus, error) {
	seq, m, err := scanStatus(tx.QueryRowContext(ctx, "SELECT "+statusColumns+" FROM messages WHERE id = ? AND tenant_id = ?"+
		d.ForUpdate, id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, m, hookd.Errorf(hookd.ENOTFOUND, "message not found")
	}
	return seq, m, err
}

// webhookOrNil reads the tenant's webhook in tx; nil when it was deleted.
func (s *Store) webhookOrNil(ctx context.Context, tx Conn, tenantID, id string) (*hookd.Webhook, error) {
	w, err := s.getWebhook(ctx, tx, tenantID, id)
	if hookd.ErrorCode(err) == hookd.ENOTFOUND {
		return nil, nil
	}
	return w, err
}

// requeue retries the message at seq by hand (hookd.Retry) and writes the
// transition. Whether an earlier message blocks its group is asked only
// when it matters: the webhook is active.
func requeue(ctx context.Context, tx Conn, w *hookd.Webhook, seq int64, m hookd.MessageStatus, now time.Time) (hookd.Transition, error) {
	isBlocked := false
	if w != nil && w.Active() {
		var err error
		if isBlocked, err = blocked(ctx, tx, w, m.GroupKey, seq); err != nil {
			return hookd.Transition{}, err
		}
	}
	t, err := hookd.Retry(m, w, isBlocked, now)
	if err != nil {
		return t, err
	}
	return t, writeMove(ctx, tx, seq, 0, &t)
}

// RetryMessage schedules a manual attempt at now with a fresh retry budget
// (pending instead while its webhook is inactive or its group is blocked
// by an earlier message), see hookd.Retry. ENOTFOUND; ECONFLICT for a
// successful message or one whose webhook was deleted.
func (s *Store) RetryMessage(ctx context.Context, tenantID, id string, now time.Time) (*hookd.Message, error) {
	var out *hookd.Message
	var t hookd.Transition
	now = FromMS(MS(now))
	err := s.Tx(ctx, func(tx Conn) error {
		seq, m, err := lockMessage(ctx, tx, &s.Dialect, tenantID, id)
		if err != nil {
			return err
		}
		w, err := s.webhookOrNil(ctx, tx, tenantID, m.WebhookID)
		if err != nil {
			return err
		}
		if t, err = requeue(ctx, tx, w, seq, m, now); err != nil {
			return err
		}
		out, err = getMessage(ctx, tx, tenantID, id)
		return err
	})
	if err != nil {
		return nil, Internal("retry message", err)
	}
	s.Notify([]hookd.Transition{t})
	return out, nil
}

// endMessage ends a message by hand with rule (hookd.Abort or
// hookd.Resolve), writes the transition and releases the message's group
// when it held it back.
func (s *Store) endMessage(ctx context.Context, tenantID, id, what string, now time.Time,
	rule func(hookd.MessageStatus, *hookd.Webhook, time.Time) (hookd.Transition, error)) (*hookd.Message, error) {
	var out *hookd.Message
	var t hookd.Transition
	now = FromMS(MS(now))
	err := s.Tx(ctx, func(tx Conn) error {
		seq, m, err := lockMessage(ctx, tx, &s.Dialect, tenantID, id)
		if err != nil {
			return err
		}
		w, err := s.webhookOrNil(ctx, tx, tenantID, m.WebhookID)
		if err != nil {
			return err
		}
		if t, err = rule(m, w, now); err != nil {
			return err
		}
		if err := writeMove(ctx, tx, seq, 0, &t); err != nil {
			return err
		}
		if t.GroupReleased {
			if err := releaseGroup(ctx, tx, w, m.GroupKey, now); err != nil {
				return err
			}
		}
		out, err = getMessage(ctx, tx, tenantID, id)
		return err
	})
	if err != nil {
		return nil, Internal(what+" message", err)
	}
	s.Notify([]hookd.Transition{t})
	return out, nil
}

// AbortMessage ends a created, pending, retrying or failed message as
// aborted and releases its group (hookd.Abort). ENOTFOUND; ECONFLICT
// otherwise.
func (s *Store) AbortMessage(ctx context.Context, tenantID, id string, now time.Time) (*hookd.Message, error) {
	return s.endMessage(ctx, tenantID, id, "abort", now, hookd.Abort)
}

// ResolveMessage marks a created, pending, retrying or failed message
// resolved and releases its group (hookd.Resolve). ENOTFOUND; ECONFLICT
// otherwise.
func (s *Store) ResolveMessage(ctx context.Context, tenantID, id string, now time.Time) (*hookd.Message, error) {
	return s.endMessage(ctx, tenantID, id, "resolve", now, hookd.Resolve)
}

// RecoverQuery selects the failed messages of a webhook created in a time
// range, in publish order, but not its test messages: a test call is made
// once and never retried. Its term on state must stay a literal: only
// then may the planner use the partial index messages_failed_webhook
// (sqlite's TestQueryPlans checks it does). Arguments: webhook id, since,
// until.
var RecoverQuery = `SELECT ` + statusColumns + ` FROM messages
	WHERE webhook_id = ? AND state = ` + Lit(hookd.StateFailed) + ` AND test = 0 AND created_at >= ? AND created_at < ? ORDER BY seq`

// RecoverMessages requeues, like RetryMessage and in publish order, every
// failed message of the webhook created in [since, until) (a zero until:
// no upper bound) but its test messages, and returns how many. ENOTFOUND.
func (s *Store) RecoverMessages(ctx context.Context, tenantID, webhookID string, since, until time.Time, now time.Time) (int, error) {
	var ts []hookd.Transition
	now = FromMS(MS(now))
	err := s.Tx(ctx, func(tx Conn) error {
		w, err := s.getWebhook(ctx, tx, tenantID, webhookID)
		if err != nil {
			return err
		}
		upper := int64(1<<63 - 1)
		if !until.IsZero() {
			upper = MS(until)
		}
		type row struct {
			seq int64
			m   hookd.MessageStatus
		}
		var batch []row
		err = QueryRows(ctx, tx, RecoverQuery, []any{webhookID, MS(since), upper}, func(rows *sql.Rows) error {
			seq, m, err := scanStatus(rows)
			batch = append(batch, row{seq, m})
			return err
		})
		if err != nil {
			return err
		}
		for _, r := range batch {
			t, err := requeue(ctx, tx, w, r.seq, r.m, now)
			if err != nil {
				return err
			}
			ts = append(ts, t)
		}
		return nil
	})
	if err != nil {
		return 0, Internal("recover messages", err)
	}
	s.Notify(ts)
	return len(ts), nil
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
		// The seq is the one SQLite gives a rowid alias by default, or
		// one of the store's blocks (Dialect.SeqBlock).
		seq, args := "(SELECT coalesce(max(seq), 0) + 1 FROM messages)", []any{}
		if s.Dialect.SeqBlock != nil {
			first, _, err := s.Dialect.SeqBlock(ctx, tx)
			if err != nil {
				return fmt.Errorf("number message: %w", err)
			}
			seq, args = "?", append(args, first)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages (seq, id, tenant_id, webhook_id, event_id, event_type,
			event_group, group_key, state, lease, test, created_at, updated_at)
			VALUES (`+seq+`, ?, ?, ?, ?, ?, ?, '', ?, ?, 1, ?, ?)`, append(args,
			id, tenantID, webhookID, ev.ID, ev.Type, ev.Group, string(hookd.StateCreated), lease, MS(now), MS(now))...); err != nil {
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
