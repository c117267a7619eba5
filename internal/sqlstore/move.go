package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// Writing what the state machine decided. A rule of one message (an
// outcome, a manual action, a group's release, a deferral) is a hookd
// function of rows read here; writeMove and Complete's moveMessages write
// the Transition it returns. A rule of many messages at once (holding a
// webhook's waiting messages, releasing its held ones) is one statement
// whose states come from the domain's predicates (see states.go).
//
// The columns' invariants, which the rules keep:
//
//   - due_at is set exactly when a message is created or retrying and not
//     held (then it is when the message becomes due), or leased (then it
//     is when the lease ends and the message becomes due again by itself).
//   - A pending message has no due_at (see hookd's transition.go).

// statusColumns are the columns scanStatus reads, in order.
const statusColumns = `seq, id, tenant_id, webhook_id, event_id, event_type, group_key, state, attempt_count, lease, test,
	next_attempt_at, created_at`

// scanStatus scans statusColumns into the message's seq and status.
func scanStatus(sc interface{ Scan(...any) error }) (int64, hookd.MessageStatus, error) {
	var m hookd.MessageStatus
	var seq, created int64
	var next sql.NullInt64
	err := sc.Scan(&seq, &m.ID, &m.TenantID, &m.WebhookID, &m.EventID, &m.EventType, &m.GroupKey, &m.State,
		&m.AttemptCount, &m.Lease, &m.Test, &next, &created)
	m.NextAttemptAt = fromNullMS(next)
	m.CreatedAt = FromMS(created)
	return seq, m, err
}

// msOrNull returns t as stored, or NULL.
func msOrNull(t *time.Time) any {
	if t == nil {
		return nil
	}
	return MS(*t)
}

// writeMove writes t, a moved transition of one message (not an outcome's,
// see moveMessages), to the message at seq: its state, next attempt, due
// time and lease (0 but for a release, which keeps the lease of an
// attempt in flight); a manual move also marks the next attempt manual and
// restarts the retry budget.
func writeMove(ctx context.Context, tx Conn, seq, lease int64, t *hookd.Transition) error {
	set := "state = ?, next_attempt_at = ?, due_at = ?, lease = ?, updated_at = ?"
	if t.Manual {
		set += ", tries = 0, manual = 1"
	}
	_, err := tx.ExecContext(ctx, "UPDATE messages SET "+set+" WHERE seq = ?",
		string(t.To), msOrNull(t.NextAttemptAt), msOrNull(t.DueAt), lease, MS(t.At), seq)
	if err != nil {
		return fmt.Errorf("move message to %s: %w", t.To, err)
	}
	return nil
}

// HoldQuery makes a webhook's waiting messages pending (see holdWebhook).
// Arguments: updated_at, webhook id.
var HoldQuery = `UPDATE messages SET state = ` + Lit(hookd.StatePending) + `, due_at = NULL, updated_at = ?
	WHERE webhook_id = ? AND ` + openIndexTerms + ` AND state IN (` + Lit(waitingStates...) + `) AND test = 0`

// holdWebhook makes the webhook's waiting messages pending: it stopped
// being active (see hookd.WebhookChange). A message in flight keeps its
// lease, so its outcome still applies. A test message is not held: it is
// being sent regardless of the webhook's state, and a held one would later
// be released as claimable.
func holdWebhook(ctx context.Context, tx Conn, webhookID string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, HoldQuery, MS(now), webhookID); err != nil {
		return fmt.Errorf("hold messages: %w", err)
	}
	return nil
}

// ReleaseQuery releases a webhook's held messages outside groups, as
// hookd.Release does one message: each resumes in hookd.ReleasedState,
// due when it was last scheduled or, never scheduled, since its creation.
// Arguments: updated_at, webhook id.
var ReleaseQuery = `UPDATE messages SET
	state = CASE WHEN attempt_count > 0 THEN ` + Lit(hookd.ReleasedState(1)) + ` ELSE ` + Lit(hookd.ReleasedState(0)) + ` END,
	due_at = coalesce(next_attempt_at, created_at), next_attempt_at = coalesce(next_attempt_at, created_at),
	updated_at = ?
	WHERE webhook_id = ? AND ` + openIndexTerms + ` AND state = ` + Lit(hookd.StatePending) + ` AND group_key = ''`

// releaseWebhook releases an active webhook's held messages: every pending
// message outside a group, and the head of each group.
func releaseWebhook(ctx context.Context, tx Conn, w *hookd.Webhook, now time.Time) error {
	if !w.Active() {
		return nil
	}
	if _, err := tx.ExecContext(ctx, ReleaseQuery, MS(now), w.ID); err != nil {
		return fmt.Errorf("release messages: %w", err)
	}
	var groups []string
	err := QueryRows(ctx, tx, "SELECT DISTINCT group_key FROM messages WHERE webhook_id = ? AND "+
		groupIndexTerms+" AND state = ?", []any{w.ID, string(hookd.StatePending)}, func(rows *sql.Rows) error {
		var g string
		err := rows.Scan(&g)
		groups = append(groups, g)
		return err
	})
	if err != nil {
		return fmt.Errorf("list held groups: %w", err)
	}
	return releaseGroups(ctx, tx, w, groups, now)
}

// releaseHeadsQuery releases the heads of a webhook's groups as
// hookd.Release does one message, in one statement: a group's head, its
// first message (in seq order) that blocks it, when pending, resumes in
// hookd.ReleasedState, due when it was last scheduled or, never scheduled,
// since its creation; a lease it holds (an attempt in flight when it was
// held) stays, so that the attempt's outcome still applies. A statement
// that only writes, so that a store may send it with others in one round
// trip. Arguments: updated_at, the webhook id, the blocking states
// (blockingStates), then the groups, whose "(VALUES)" the caller fills.
const releaseHeadsQuery = `UPDATE messages SET
	state = CASE WHEN attempt_count > 0 THEN %s ELSE %s END,
	due_at = coalesce(next_attempt_at, created_at), next_attempt_at = coalesce(next_attempt_at, created_at),
	updated_at = ?
	WHERE state = %s AND seq IN (SELECT (SELECT h.seq FROM messages h
		WHERE h.webhook_id = ? AND h.group_key = g.column1 AND %s AND h.state IN (%s) ORDER BY h.seq LIMIT 1)
		FROM (VALUES) AS g)`

// releaseGroups releases the heads of the groups of w (see
// releaseHeadsQuery) when w is active, as hookd.Release says; they stay
// held otherwise.
func releaseGroups(ctx context.Context, tx Conn, w *hookd.Webhook, groups []string, now time.Time) error {
	if w == nil || !w.Active() {
		return nil
	}
	var keys []any
	for _, g := range groups {
		if g != "" {
			keys = append(keys, g)
		}
	}
	states := blockingStates[w.ContinueOnFailure]
	q := fmt.Sprintf(releaseHeadsQuery, Lit(hookd.ReleasedState(1)), Lit(hookd.ReleasedState(0)), Lit(hookd.StatePending),
		groupIndexTerms, Placeholders(len(states)))
	args := append([]any{MS(now), w.ID}, stateArgs(states)...)
	return InChunks(keys, func(_ string, chunk []any) error {
		values := "VALUES " + strings.Repeat("(?), ", len(chunk)-1) + "(?)"
		if _, err := tx.ExecContext(ctx, strings.Replace(q, "VALUES", values, 1), append(args[:len(args):len(args)], chunk...)...); err != nil {
			return fmt.Errorf("release groups: %w", err)
		}
		return nil
	})
}

// blockingTerm is the condition that a message blocks its group in a
// webhook with continue_on_failure cof, and its arguments.
func blockingTerm(cof bool) (string, []any) {
	states := blockingStates[cof]
	return "state IN (" + Placeholders(len(states)) + ")", stateArgs(states)
}

// releaseGroup releases the group's head (see releaseGroups).
func releaseGroup(ctx context.Context, tx Conn, w *hookd.Webhook, group string, now time.Time) error {
	return releaseGroups(ctx, tx, w, []string{group}, now)
}

// blocked reports whether a message of w's group at seq (math.MaxInt64 for
// one not inserted yet) has an earlier message that blocks it.
func blocked(ctx context.Context, tx Conn, w *hookd.Webhook, group string, seq int64) (bool, error) {
	if group == "" {
		return false, nil
	}
	term, args := blockingTerm(w.ContinueOnFailure)
	var found bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM messages
		WHERE webhook_id = ? AND group_key = ? AND `+groupIndexTerms+` AND seq < ? AND `+term+`)`,
		append([]any{w.ID, group, seq}, args...)...).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("check group order: %w", err)
	}
	return found, nil
}
