package sqlstore

import (
	"cmp"
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

// ListMessages returns one page of the tenant's messages in id order (see
// hookd.MessageStore.ListMessages and ListMessagesQuery).
func (s *Store) ListMessages(ctx context.Context, tenantID string, f hookd.MessageFilter) (_ []*hookd.Message, err error) {
	defer s.readFailed(&err)
	query, args := ListMessagesQuery(tenantID, f)
	return queryList(ctx, s.Read, "messages", query, args,
		func(sc interface{ Scan(...any) error }) (*hookd.Message, error) { return ScanMessage(sc) })
}

// ListMessagesQuery returns ListMessages' query and its arguments. The
// page's ids come first, from the terms of messageKeys (an index alone
// where one holds them, however many messages are skipped by the offset),
// then the page's rows by their ids. The rows are the tenant's only: the
// keys of a webhook's messages leave the tenant out (see messageKeys).
func ListMessagesQuery(tenantID string, f hookd.MessageFilter) (string, []any) {
	keys, args := messageKeys(tenantID, f)
	where, args := createdBetween(keys, args, f.Since, f.Until)
	return "SELECT " + MessageColumns + " FROM messages WHERE tenant_id = ? AND id IN (SELECT id FROM messages WHERE " +
			strings.Join(where, " AND ") + " AND id > ? ORDER BY id LIMIT ? OFFSET ?) ORDER BY id",
		append(append([]any{tenantID}, args...), f.After, limitOf(f.Page), max(f.Offset, 0))
}

// unsuccessfulIndexTerms repeats the partial index messages_unsuccessful's
// WHERE clause (state IN ('failed', 'aborted', 'resolved'), in the
// migrations): the states a message ends in without success.
var unsuccessfulIndexTerms = `state IN (` + Lit(unsuccessfulStates...) + `)`

// unsuccessfulStates are the states of messages_unsuccessful, in the
// order of hookd.States (as its WHERE clause lists them).
var unsuccessfulStates = hookd.StatesWhere(func(s hookd.MessageState) bool {
	return s.Terminal() && s != hookd.StateSuccessful
})

// filterStates returns f's states that are states, each once, in the
// order of hookd.States; none is true when f names states but none of
// them is one: the filter matches nothing.
func filterStates(f hookd.MessageFilter) (states []hookd.MessageState, none bool) {
	for _, st := range hookd.States {
		if slices.Contains(f.States, st) {
			states = append(states, st)
		}
	}
	return states, len(f.States) > 0 && len(states) == 0
}

// tenantIndexed reports whether a tenant's messages in state st have an
// index range of their own: messages_failed, messages_ended. A webhook's
// have one in every state but successful: messages_open,
// messages_unsuccessful.
func tenantIndexed(st hookd.MessageState) bool {
	return st == hookd.StateFailed || st == hookd.StateAborted || st == hookd.StateResolved
}

// stateTerms returns the term of messages in one of states (given, each
// once, in the order of hookd.States), spelled for the index that holds
// one state (see tenantIndexed): the index's own WHERE clause repeated,
// the state literal, so that a planner knows the partial index applies.
// Several states, or one without an index, are a plain term.
func stateTerms(states []hookd.MessageState, webhook bool) string {
	if len(states) != 1 {
		return "state IN (" + Lit(states...) + ")"
	}
	st := states[0]
	switch {
	case webhook && st.Open():
		return openIndexTerms + " AND state = " + Lit(st)
	case webhook && slices.Contains(unsuccessfulStates, st):
		return unsuccessfulIndexTerms + " AND state = " + Lit(st)
	case !webhook && (st == hookd.StateAborted || st == hookd.StateResolved):
		return endedIndexTerms + " AND state = " + Lit(st)
	}
	// failed across the tenant: messages_failed's WHERE is this term.
	return "state = " + Lit(st)
}

// messageKeys returns the terms that select f's messages (but Page,
// Offset, Since and Until) and their arguments. A webhook's messages are
// found by webhook_id alone, without the tenant: every message of a
// webhook is of the webhook's tenant, and a term on tenant_id would have
// the planner read each message (or take messages_tenant and read every
// webhook's). Whoever reads rows by these keys checks their tenant
// (ListMessagesQuery), whoever counts checks the webhook's (see
// CountMessagesMatching). Then each term is spelled for its index:
// messages_webhook (webhook_id, id), messages_tenant (tenant_id, id), one
// state by stateTerms.
func messageKeys(tenantID string, f hookd.MessageFilter) ([]string, []any) {
	where, args := []string{"tenant_id = ?"}, []any{tenantID}
	if f.WebhookID != "" {
		where, args = []string{"webhook_id = ?"}, []any{f.WebhookID}
	}
	if f.EventID != "" {
		where = append(where, "event_id = ?")
		args = append(args, f.EventID)
	}
	switch states, none := filterStates(f); {
	case none:
		where = append(where, "0 = 1")
	case len(states) > 0:
		where = append(where, stateTerms(states, f.WebhookID != ""))
	}
	if f.EventType != "" {
		where = append(where, "event_type = ?")
		args = append(args, f.EventType)
	}
	return where, args
}

// CountMessagesMatching counts the tenant's messages that match f (see
// hookd.MessageTotaler.CountMessagesMatching and CountMatchingQuery).
func (s *Store) CountMessagesMatching(ctx context.Context, tenantID string, f hookd.MessageFilter) (_ int, err error) {
	defer s.readFailed(&err)
	query, args, minus := CountMatchingQuery(tenantID, f)
	if query == "" {
		return 0, nil
	}
	var owner sql.NullString
	n := make([]int64, len(minus))
	dst := []any{&owner}
	for i := range n {
		dst = append(dst, &n[i])
	}
	if err := s.Read.QueryRowContext(ctx, query, args...).Scan(dst...); err != nil {
		return 0, fmt.Errorf("count messages matching: %w", err)
	}
	if owner.String != tenantID {
		return 0, nil
	}
	total := int64(0)
	for i := range n {
		if minus[i] {
			total -= n[i]
		} else {
			total += n[i]
		}
	}
	return int(max(total, 0)), nil
}

// CountMatchingQuery returns CountMessagesMatching's statement and its
// arguments ("" when f matches nothing): one row, the tenant whose
// messages are counted (a webhook's, from its row or, once it is deleted,
// from one of its messages, NULL when it has none: messageKeys leave the
// tenant out), then counts, each of f's keys in one state or in any; the
// answer is their sum, less those that minus marks. Where each of f's
// states has an index range (see tenantIndexed) each count counts the
// entries of one range; a webhook's successful messages are its total
// less its other states; any other filter counts the messages
// themselves.
func CountMatchingQuery(tenantID string, f hookd.MessageFilter) (query string, args []any, minus []bool) {
	states, none := filterStates(f)
	if none {
		return "", nil, nil
	}
	webhook := f.WebhookID != ""
	indexed := f.EventID == "" && f.EventType == "" && f.Since == nil && f.Until == nil
	for _, st := range states {
		indexed = indexed && (webhook || tenantIndexed(st))
	}
	type count struct {
		states []hookd.MessageState
		minus  bool
	}
	var counts []count
	switch {
	case !indexed || len(states) == 0:
		counts = []count{{states: states}}
	case slices.Contains(states, hookd.StateSuccessful):
		counts = []count{{}}
		for _, st := range hookd.States {
			if !slices.Contains(states, st) {
				counts = append(counts, count{states: []hookd.MessageState{st}, minus: true})
			}
		}
	default:
		for _, st := range states {
			counts = append(counts, count{states: []hookd.MessageState{st}})
		}
	}
	cols := []string{"CAST(? AS TEXT)"}
	args = []any{tenantID}
	if webhook {
		// The webhook's tenant, or that of a message of a deleted
		// webhook (they all have it): a primary key's, then whatever
		// index the planner takes for one message.
		cols[0] = "coalesce((SELECT tenant_id FROM webhooks WHERE id = ?), (SELECT tenant_id FROM messages WHERE webhook_id = ? LIMIT 1))"
		args = []any{f.WebhookID, f.WebhookID}
	}
	for _, c := range counts {
		f.States = c.states
		keys, kargs := messageKeys(tenantID, f)
		keys, kargs = createdBetween(keys, kargs, f.Since, f.Until)
		cols = append(cols, "(SELECT count(*) FROM messages WHERE "+strings.Join(keys, " AND ")+")")
		args = append(args, kargs...)
		minus = append(minus, c.minus)
	}
	return "SELECT " + strings.Join(cols, ", "), args, minus
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

// ApplyToMessages applies op to each of the tenant's messages in ids in one
// transaction, with the domain's rule of RetryMessage, AbortMessage or
// ResolveMessage (hookd.ManualOp.Apply: hookd.Retry, Abort, Resolve; this
// store only reads what the rule needs and writes what it returns), one
// after the other in publish order, so that a retried message waits behind an earlier one of
// its group retried with it, and a group released by one is seen by the
// next. A message the rule refuses (ECONFLICT: its state, or for a retry
// its deleted webhook) is skipped; an id that is not the tenant's message
// is counted as not found (an id given twice counts once). EINVALID for
// an unknown op.
func (s *Store) ApplyToMessages(ctx context.Context, tenantID string, op hookd.ManualOp, ids []string, now time.Time) (hookd.BulkResult, error) {
	if !slices.Contains(hookd.ManualOps, op) {
		return hookd.BulkResult{}, hookd.Errorf(hookd.EINVALID, "unknown operation %q: use retry, abort or resolve", string(op))
	}
	var res hookd.BulkResult
	var ts []hookd.Transition
	now = FromMS(MS(now))
	err := s.Tx(ctx, func(tx Conn) error {
		res, ts = hookd.BulkResult{}, nil
		type row struct {
			seq int64
			m   hookd.MessageStatus
		}
		var rows []row
		for _, id := range slices.Compact(slices.Sorted(slices.Values(ids))) {
			seq, m, err := lockMessage(ctx, tx, &s.Dialect, tenantID, id)
			if hookd.ErrorCode(err) == hookd.ENOTFOUND {
				res.NotFound++
				continue
			} else if err != nil {
				return err
			}
			rows = append(rows, row{seq, m})
		}
		slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(a.seq, b.seq) })
		hooks := map[string]*hookd.Webhook{}
		for _, r := range rows {
			w, ok := hooks[r.m.WebhookID]
			if !ok {
				var err error
				if w, err = s.webhookOrNil(ctx, tx, tenantID, r.m.WebhookID); err != nil {
					return err
				}
				hooks[r.m.WebhookID] = w
			}
			var t hookd.Transition
			var err error
			if op == hookd.OpRetry {
				t, err = requeue(ctx, tx, w, r.seq, r.m, now) // reads whether its group blocks it
			} else if t, err = op.Apply(r.m, w, false, now); err == nil {
				if err = writeMove(ctx, tx, r.seq, 0, &t); err == nil && t.GroupReleased {
					err = releaseGroup(ctx, tx, w, r.m.GroupKey, now)
				}
			}
			switch hookd.ErrorCode(err) {
			case "":
				res.Done++
				ts = append(ts, t)
			case hookd.ECONFLICT:
				res.Skipped++
			default:
				return err
			}
		}
		return nil
	})
	if err != nil {
		return hookd.BulkResult{}, Internal(string(op)+" messages", err)
	}
	s.Notify(ts)
	return res, nil
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
