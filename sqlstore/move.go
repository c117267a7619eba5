package sqlstore

import (
	"context"
	"database/sql"
	"errors"
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
	for _, g := range groups {
		if err := releaseGroup(ctx, tx, w, g, now); err != nil {
			return err
		}
	}
	return nil
}

// blockingTerm is the condition that a message blocks its group in a
// webhook with continue_on_failure cof, and its arguments.
func blockingTerm(cof bool) (string, []any) {
	states := blockingStates[cof]
	return "state IN (" + Placeholders(len(states)) + ")", stateArgs(states)
}

// releaseGroup releases the group's head, its first message that blocks
// it, when hookd.Release says so: the head is pending and w is active.
func releaseGroup(ctx context.Context, tx Conn, w *hookd.Webhook, group string, now time.Time) error {
	if w == nil || !w.Active() || group == "" {
		return nil
	}
	term, args := blockingTerm(w.ContinueOnFailure)
	seq, head, err := scanStatus(tx.QueryRowContext(ctx, `SELECT `+statusColumns+` FROM messages
		WHERE webhook_id = ? AND group_key = ? AND `+groupIndexTerms+` AND `+term+`
		ORDER BY seq LIMIT 1`, append([]any{w.ID, group}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("find group head: %w", err)
	}
	t, ok := hookd.Release(head, w, now)
	if !ok {
		return nil // the head is waiting, in flight or a blocking failure
	}
	return writeMove(ctx, tx, seq, head.Lease, &t)
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

// groupRef is a group of a webhook whose head releaseGroups is to release.
type groupRef struct {
	w     *hookd.Webhook
	group string
}

// releaseGroups releases the head of each group of gs (distinct), as
// releaseGroup does each, set-wise: the heads are read with one query per
// chunk of groups and moved with one UPDATE … FROM (VALUES …) per chunk.
// Complete releases a group with nearly every outcome of a grouped
// webhook, and one SELECT and one UPDATE per group cost twice what the
// rest of its outcome did (BenchmarkCompleteGrouped in sqlite/).
func releaseGroups(ctx context.Context, tx Conn, d *Dialect, gs []groupRef, now time.Time) error {
	if len(gs) == 0 {
		return nil // most rounds: no outcome of a group
	}
	hooks := map[string]*hookd.Webhook{}
	var pairs [2][]any // webhook id and group, by the webhook's continue_on_failure
	for _, g := range gs {
		if g.w == nil || !g.w.Active() || g.group == "" {
			continue
		}
		hooks[g.w.ID] = g.w
		cof := 0
		if g.w.ContinueOnFailure {
			cof = 1
		}
		pairs[cof] = append(pairs[cof], g.w.ID, g.group)
	}
	var moves []any
	for cof, list := range pairs {
		for len(list) > 0 {
			size := chunkSize(len(list) / 2)
			q, args := GroupHeadsQuery(cof == 1, list[:size*2])
			err := QueryRows(ctx, tx, q, args, func(rows *sql.Rows) error {
				seq, head, err := scanStatus(rows)
				if err != nil {
					return err
				}
				if t, ok := hookd.Release(head, hooks[head.WebhookID], now); ok {
					// A release keeps the lease of an attempt in flight.
					moves = append(moves, seq, string(t.To), msOrNull(t.NextAttemptAt), msOrNull(t.DueAt), head.Lease)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("find group heads: %w", err)
			}
			list = list[size*2:]
		}
	}
	const cols = 5
	b := d.Bigint
	row := "(" + b + ", ?, " + b + ", " + b + ", " + b + ")"
	for len(moves) > 0 {
		size := chunkSize(len(moves) / cols)
		q := `UPDATE messages SET state = v.column2, next_attempt_at = v.column3, due_at = v.column4, lease = v.column5,
			updated_at = ? FROM (VALUES ` + strings.Repeat(row+", ", size-1) + row + `) AS v WHERE messages.seq = v.column1`
		if _, err := tx.ExecContext(ctx, q, append([]any{MS(now)}, moves[:size*cols]...)...); err != nil {
			return fmt.Errorf("release group heads: %w", err)
		}
		moves = moves[size*cols:]
	}
	return nil
}

// GroupHeadsQuery returns the query that reads the head of each group of
// pairs (webhook id, group key, …), its first message that blocks it, of
// webhooks with continue_on_failure cof, found in messages_group as
// releaseGroup finds one, and its arguments.
func GroupHeadsQuery(cof bool, pairs []any) (string, []any) {
	term, args := blockingTerm(cof)
	n := len(pairs) / 2
	return `SELECT ` + headColumns + ` FROM (VALUES ` + strings.Repeat("(?, ?), ", n-1) + `(?, ?)) AS v
		JOIN messages m ON m.seq = (SELECT seq FROM messages
			WHERE webhook_id = v.column1 AND group_key = v.column2 AND ` + groupIndexTerms + ` AND ` + term + `
			ORDER BY seq LIMIT 1)`, append(append(make([]any, 0, len(pairs)+len(args)), pairs...), args...)
}

// headColumns are statusColumns of the messages aliased m.
var headColumns = func() string {
	cols := strings.Split(statusColumns, ",")
	for i, c := range cols {
		cols[i] = "m." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// chunkSize is the largest of chunkSizes that is at most rows (1 for
// none): a batch is written with statements of a few sizes, see
// chunkSizes.
func chunkSize(rows int) int {
	for _, c := range chunkSizes {
		if c <= rows {
			return c
		}
	}
	return 1
}

// blockedGroups returns which of the groups of gs (distinct) have a
// message that blocks them, keyed by webhook id and group, with one query
// per chunk of groups: what blocked(…, math.MaxInt64) says of each.
// Publish asks it for every group a call publishes to, once, instead of
// once per group (in hookd-bench scenario c, batches of 1000 events in 250
// groups, the EXISTS per group was 7 % of hookd's CPU).
func blockedGroups(ctx context.Context, tx Conn, gs []groupRef) (map[[2]string]bool, error) {
	var pairs [2][]any // by the webhook's continue_on_failure
	for _, g := range gs {
		cof := 0
		if g.w.ContinueOnFailure {
			cof = 1
		}
		pairs[cof] = append(pairs[cof], g.w.ID, g.group)
	}
	out := map[[2]string]bool{}
	for cof, list := range pairs {
		for len(list) > 0 {
			size := chunkSize(len(list) / 2)
			q, args := BlockedGroupsQuery(cof == 1, list[:size*2])
			err := QueryRows(ctx, tx, q, args, func(rows *sql.Rows) error {
				var k [2]string
				err := rows.Scan(&k[0], &k[1])
				out[k] = true
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("check group order: %w", err)
			}
			list = list[size*2:]
		}
	}
	return out, nil
}

// BlockedGroupsQuery returns the query that reads which groups of pairs
// (webhook id, group key, …), of webhooks with continue_on_failure cof,
// have a message that blocks them, and its arguments.
func BlockedGroupsQuery(cof bool, pairs []any) (string, []any) {
	term, args := blockingTerm(cof)
	n := len(pairs) / 2
	return `SELECT v.column1, v.column2 FROM (VALUES ` + strings.Repeat("(?, ?), ", n-1) + `(?, ?)) AS v
		WHERE EXISTS (SELECT 1 FROM messages
			WHERE webhook_id = v.column1 AND group_key = v.column2 AND ` + groupIndexTerms + ` AND ` + term + `)`,
		append(append(make([]any, 0, len(pairs)+len(args)), pairs...), args...)
}

// groupsBlocked returns which groups of the events (keyed by webhook id
// and group) an earlier message blocks, for the active grouped webhooks of
// hooks that match them: the pending rows of the round's earlier calls
// are written first, so that their messages count.
func groupsBlocked(ctx context.Context, tx Conn, rows *PendingRows, hooks []*hookd.Webhook, events []hookd.EventInput) (map[[2]string]bool, error) {
	var gs []groupRef
	var seen map[[2]string]bool // made for the first group: most events have none
	for i := range events {
		in := &events[i]
		if in.Group == "" {
			continue
		}
		for _, w := range hooks {
			k := [2]string{w.ID, in.Group}
			if !w.Grouped || !w.Active() || seen[k] || !w.Matches(in.Type, in.Attributes) {
				continue
			}
			if seen == nil {
				seen = map[[2]string]bool{}
			}
			seen[k] = true
			gs = append(gs, groupRef{w, in.Group})
		}
	}
	if len(gs) == 0 {
		return nil, nil
	}
	if err := rows.flush(ctx, tx); err != nil {
		return nil, err
	}
	return blockedGroups(ctx, tx, gs)
}
