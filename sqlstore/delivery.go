package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
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

// groupIndexTerms repeats the partial index messages_group's WHERE clause:
// SQLite's planner may use the index only when it sees the same terms, and
// PostgreSQL's can only then tell the index applies to a query that
// narrows group_key and state through parameters.
const groupIndexTerms = `group_key != '' AND state IN ('created', 'pending', 'retrying', 'failed')`

// openIndexTerms repeats the partial index messages_open's WHERE clause, for
// the same reason.
const openIndexTerms = `state IN ('created', 'pending', 'retrying')`

// HoldQuery, ReleaseQuery: see holdWebhook and releaseWebhook.
const (
	HoldQuery = `UPDATE messages SET state = 'pending', due_at = NULL, updated_at = ?
		WHERE webhook_id = ? AND ` + openIndexTerms + ` AND state IN ('created', 'retrying') AND test = 0`
	ReleaseQuery = "UPDATE messages SET " + releaseSet +
		" WHERE webhook_id = ? AND " + openIndexTerms + " AND state = 'pending' AND group_key = ''"
)

// NewLease returns a fresh non-zero lease token.
func NewLease() int64 {
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
func holdWebhook(ctx context.Context, tx Conn, webhookID string, now time.Time) error {
	_, err := tx.ExecContext(ctx, HoldQuery, MS(now), webhookID)
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
func releaseWebhook(ctx context.Context, tx Conn, w *hookd.Webhook, now time.Time) error {
	if !w.Active() {
		return nil
	}
	if _, err := tx.ExecContext(ctx, ReleaseQuery, MS(now), w.ID); err != nil {
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
func releaseGroup(ctx context.Context, tx Conn, w *hookd.Webhook, group string, now time.Time) error {
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
		MS(now), seq); err != nil {
		return fmt.Errorf("release group head: %w", err)
	}
	return nil
}

// blocked reports whether a message of w's group at seq (math.MaxInt64 for
// one not inserted yet) has an earlier message that blocks it.
func blocked(ctx context.Context, tx Conn, w *hookd.Webhook, group string, seq int64) (bool, error) {
	if group == "" {
		return false, nil
	}
	var found bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM messages
		WHERE webhook_id = ? AND group_key = ? AND `+groupIndexTerms+` AND seq < ? AND (state != 'failed' OR ? = 0))`,
		w.ID, group, seq, w.ContinueOnFailure).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("check group order: %w", err)
	}
	return found, nil
}

// MessageColumns are the columns ScanMessage reads, in order.
const MessageColumns = `id, tenant_id, webhook_id, event_id, event_type, event_group, state, attempt_count, tries,
	next_attempt_at, last_attempt_at, last_status_code, last_error, created_at, updated_at`

// ScanMessage scans MessageColumns, then the extra destinations.
func ScanMessage(sc interface{ Scan(...any) error }, extra ...any) (*hookd.Message, error) {
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
	m.CreatedAt = FromMS(created)
	m.UpdatedAt = FromMS(updated)
	return &m, nil
}

// ClaimCall is a Claim's write: lease up to Limit messages due by due_at
// with Token until now+Lease. Out receives them.
type ClaimCall struct {
	Limit int
	Lease time.Duration
	Token int64
	Out   []Claimed
}

// LeaseDueTx leases up to c.Limit messages due at now, oldest due first,
// with c.Token until now+c.Lease.
func (d *Dialect) LeaseDueTx(ctx context.Context, tx Conn, c *ClaimCall, now time.Time) ([]Claimed, error) {
	args := []any{MS(now.Add(c.Lease)), c.Token, MS(now)}
	limit := "?"
	if d.InlineLimit {
		limit = strconv.Itoa(c.Limit)
	} else {
		args = append(args, c.Limit)
	}
	q := `UPDATE messages SET due_at = ?, lease = ?
		WHERE seq IN (SELECT seq FROM messages WHERE due_at <= ? ORDER BY due_at LIMIT ` + limit + `)
		RETURNING ` + MessageColumns + `, manual, seq`
	var batch []Claimed
	err := QueryRows(ctx, tx, q, args, func(rows *sql.Rows) error {
		var cl Claimed
		var err error
		cl.M, err = ScanMessage(rows, &cl.Manual, &cl.Seq)
		batch = append(batch, cl)
		return err
	})
	return batch, err
}

// Claimed is a message Claim leased, with its event when read with it
// (the SQLite store's parked messages).
type Claimed struct {
	M      *hookd.Message
	Manual bool
	Seq    int64
	Ev     *hookd.Event
}

// DeliveriesOf returns the claimed messages, leased with token, as
// deliveries, and ends those whose event or webhook is gone.
func (s *Store) DeliveriesOf(ctx context.Context, batch []Claimed, token int64, now time.Time) ([]*hookd.Delivery, error) {
	if len(batch) == 0 {
		return nil, nil
	}
	out, orphans, err := s.deliveries(ctx, batch, token)
	if err != nil {
		// The messages stay leased and become due again when the lease
		// ends.
		return nil, fmt.Errorf("claim due messages: %w", err)
	}
	if len(orphans) > 0 {
		// Cannot happen while the invariants hold (deleting a webhook
		// aborts its messages, deleting a tenant deletes them); end them
		// rather than claim them forever.
		err := s.Lazy(ctx, func(tx Conn) error {
			for _, seq := range orphans {
				if _, err := tx.ExecContext(ctx, `UPDATE messages SET state = 'aborted', due_at = NULL, lease = 0,
					next_attempt_at = NULL, updated_at = ? WHERE seq = ? AND lease = ?`, MS(now), seq, token); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("abort orphaned messages: %w", err)
		}
	}
	return out, nil
}

// deliveries joins claimed messages with their events and webhooks, read
// outside the write transaction (Fixed), in seq order (a group's messages in publish order). It
// returns the seqs of messages whose event or webhook is gone.
func (s *Store) deliveries(ctx context.Context, batch []Claimed, lease int64) ([]*hookd.Delivery, []int64, error) {
	sort.Slice(batch, func(i, j int) bool { return batch[i].Seq < batch[j].Seq })
	eventIDs := make([]string, 0, len(batch))
	webhookIDs := make([]string, 0, len(batch))
	for _, c := range batch {
		if c.Ev == nil {
			eventIDs = append(eventIDs, c.M.EventID)
		}
		webhookIDs = append(webhookIDs, c.M.WebhookID)
	}
	events := map[string]*hookd.Event{}
	if len(eventIDs) > 0 {
		var err error
		if events, err = eventsByID(ctx, s.Fixed, eventIDs); err != nil {
			return nil, nil, err
		}
	}
	for _, c := range batch {
		if c.Ev != nil {
			events[c.M.EventID] = c.Ev
		}
	}
	hooks, err := webhooksByID(ctx, s.Fixed, webhookIDs, s.openColumn)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*hookd.Delivery, 0, len(batch))
	var orphans []int64
	for _, c := range batch {
		ev, okE := events[c.M.EventID]
		w, okW := hooks[c.M.WebhookID]
		if !okE || !okW {
			orphans = append(orphans, c.Seq)
			continue
		}
		trigger := hookd.TriggerScheduled
		if c.Manual {
			trigger = hookd.TriggerManual
		}
		out = append(out, &hookd.Delivery{Message: *c.M, Event: *ev, Webhook: *w, Lease: lease, Trigger: trigger})
	}
	return out, orphans, nil
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

func eventsByID(ctx context.Context, q Queryer, ids []string) (map[string]*hookd.Event, error) {
	keys := uniq(ids)
	out := make(map[string]*hookd.Event, len(keys))
	err := queryIn(ctx, q, "SELECT "+EventColumns+" FROM events WHERE id IN (IN)", nil, keys, func(rows *sql.Rows) error {
		ev, err := scanEvent(rows)
		if err == nil {
			out[ev.ID] = ev
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load events: %w", err)
	}
	return out, nil
}

// webhooksByID reads the webhooks of ids, their sealed columns opened
// with open (nil: left unset, see scanWebhookRow).
func webhooksByID(ctx context.Context, q Queryer, ids []string, open func(id, column, stored string) (string, error)) (map[string]*hookd.Webhook, error) {
	keys := uniq(ids)
	out := make(map[string]*hookd.Webhook, len(keys))
	err := queryIn(ctx, q, "SELECT "+webhookColumns+" FROM webhooks WHERE id IN (IN)", nil, keys, func(rows *sql.Rows) error {
		w, err := scanWebhookRow(rows, open)
		if err == nil {
			out[w.ID] = w
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load webhooks: %w", err)
	}
	return out, nil
}

// MinDue returns the earliest due_at: when a waiting message becomes due
// or a lease ends.
func (s *Store) MinDue(ctx context.Context) (time.Time, bool, error) {
	var v sql.NullInt64
	if err := s.Fixed.QueryRowContext(ctx, "SELECT min(due_at) FROM messages WHERE due_at IS NOT NULL").Scan(&v); err != nil {
		return time.Time{}, false, fmt.Errorf("next due: %w", err)
	}
	if !v.Valid {
		return time.Time{}, false, nil
	}
	return FromMS(v.Int64), true, nil
}

// ReleaseLeases makes every leased waiting message due at now and ends
// every open test message as failed (see hookd.Store). A test message is
// open while it still has the lease CreateTestMessage gave it: no due_at
// (a test message retried by hand and claimed has one, and is released
// like any other).
func (s *Store) ReleaseLeases(ctx context.Context, now time.Time) error {
	err := s.Tx(ctx, func(tx Conn) error {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET state = 'failed', lease = 0, next_attempt_at = NULL,
			updated_at = ? WHERE test = 1 AND lease != 0 AND due_at IS NULL AND state IN ('created', 'pending', 'retrying')`,
			MS(now)); err != nil {
			return fmt.Errorf("end open test messages: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE messages SET due_at = ?, lease = 0 WHERE due_at IS NOT NULL AND lease != 0",
			MS(now)); err != nil {
			return fmt.Errorf("make leased messages due: %w", err)
		}
		return nil
	})
	return Internal("release leases", err)
}

// DeferMessage makes the message leased with lease due again at due without
// an attempt: the lease ends, next_attempt_at is due, and due_at is due
// unless the message was held while in flight (pending: it stays held and
// resumes at due when released). A stale lease, a missing message and a
// test message are ignored.
func (s *Store) DeferMessage(ctx context.Context, messageID string, lease int64, due time.Time) error {
	if lease == 0 {
		return nil
	}
	err := s.Lazy(ctx, func(tx Conn) error {
		_, err := tx.ExecContext(ctx, `UPDATE messages SET lease = 0, next_attempt_at = ?,
			due_at = CASE WHEN state = 'pending' THEN NULL ELSE `+s.Dialect.Bigint+` END, updated_at = ?
			WHERE id = ? AND lease = ? AND test = 0 AND state IN ('created', 'pending', 'retrying')`,
			MS(due), MS(due), MS(s.now()), messageID, lease)
		return err
	})
	return Internal("defer message", err)
}

// CheckOutcomes returns EINVALID for an outcome state other than
// successful, retrying or failed, which Complete refuses.
func CheckOutcomes(outcomes []hookd.Outcome) error {
	for _, o := range outcomes {
		switch o.State {
		case hookd.StateSuccessful, hookd.StateRetrying, hookd.StateFailed:
		default:
			return hookd.Errorf(hookd.EINVALID, "outcome state %q is not successful, retrying or failed", o.State)
		}
	}
	return nil
}

// CompleteTx applies Complete's outcomes in tx. Each attempt is recorded
// (under Attempt.ID when set) and counted even when its lease is stale;
// only an outcome whose lease is current moves its message. An outcome
// whose attempt id is already stored is skipped: it was applied by an
// earlier call whose answer was lost. The webhook's failure streak follows
// every recorded attempt but a test one.
//
// The outcomes are applied set-wise, a few statements per batch rather
// than three per outcome: the messages are read with one query, the
// attempts inserted with multi-row INSERTs, and the messages moved with
// one UPDATE … FROM (VALUES …). When a batch holds several outcomes of one
// message, they are applied in rounds, each round taking at most one
// outcome per message, so each sees the message as the previous one left
// it. Within a round the result is that of applying the outcomes one by
// one: a webhook whose failure streak reaches suspend_after is suspended
// after its messages moved, which holds the waiting ones exactly as an
// earlier suspension would have.
func (d *Dialect) CompleteTx(ctx context.Context, tx Conn, outcomes []hookd.Outcome, now time.Time) error {
	rest := outcomes
	for len(rest) > 0 {
		var round []hookd.Outcome
		round, rest = splitRound(rest)
		if err := d.completeRound(ctx, tx, round, now); err != nil {
			return err
		}
	}
	return nil
}

// splitRound returns the outcomes whose message has no earlier outcome in
// outs, and the others, both in their order.
func splitRound(outs []hookd.Outcome) (round, rest []hookd.Outcome) {
	seen := make(map[string]bool, len(outs))
	for i, o := range outs {
		if seen[o.MessageID] {
			if rest == nil {
				round = append(make([]hookd.Outcome, 0, len(outs)), outs[:i]...)
			}
			rest = append(rest, o)
			continue
		}
		seen[o.MessageID] = true
		if rest != nil {
			round = append(round, o)
		}
	}
	if rest == nil {
		return outs, nil
	}
	return round, rest
}

// completing is one outcome being applied, with its message's row.
type completing struct {
	o         *hookd.Outcome
	a         hookd.Attempt
	seq       int64
	tenantID  string
	webhookID string
	group     string
	count     int
	lease     int64
	test      bool
	state     hookd.MessageState // the message's new state, for a current lease
	next, due any                // its next_attempt_at and due_at
	w         *hookd.Webhook     // nil: deleted
	current   bool               // the outcome's lease is the message's
	ends      bool               // it ends a grouped message: release the next one
}

// completeRound applies outcomes of distinct messages.
func (d *Dialect) completeRound(ctx context.Context, tx Conn, outs []hookd.Outcome, now time.Time) error {
	// 1. The messages.
	ids := make([]any, len(outs))
	for i := range outs {
		ids[i] = outs[i].MessageID
	}
	type msgRow struct {
		seq                        int64
		tenantID, webhookID, group string
		count                      int
		lease                      int64
		test                       bool
	}
	msgs := make(map[string]*msgRow, len(outs))
	err := queryIn(ctx, tx, `SELECT id, seq, tenant_id, webhook_id, group_key, attempt_count, lease, test
		FROM messages WHERE id IN (IN)`, nil, ids, func(rows *sql.Rows) error {
		var id string
		var r msgRow
		if err := rows.Scan(&id, &r.seq, &r.tenantID, &r.webhookID, &r.group, &r.count, &r.lease, &r.test); err != nil {
			return err
		}
		msgs[id] = &r
		return nil
	})
	if err != nil {
		return fmt.Errorf("load messages: %w", err)
	}

	// 2. Attempts already recorded by an earlier call whose answer was lost.
	var given []any
	for i := range outs {
		if id := outs[i].Attempt.ID; id != "" {
			given = append(given, id)
		}
	}
	stored := map[string]bool{}
	if len(given) > 0 {
		err := queryIn(ctx, tx, "SELECT id FROM attempts WHERE id IN (IN)", nil, given, func(rows *sql.Rows) error {
			var id string
			err := rows.Scan(&id)
			stored[id] = true
			return err
		})
		if err != nil {
			return fmt.Errorf("look up attempts: %w", err)
		}
	}

	// 3. The outcomes to apply, with their webhooks.
	cs := make([]completing, 0, len(outs))
	var hookIDs []string
	for i := range outs {
		o := &outs[i]
		r, ok := msgs[o.MessageID]
		if !ok {
			continue // deleted with its tenant meanwhile: nothing to record it on
		}
		if o.Attempt.ID != "" && stored[o.Attempt.ID] {
			continue // recorded, and applied, by an earlier Complete
		}
		stored[o.Attempt.ID] = o.Attempt.ID != "" // the same attempt twice in one call counts once
		c := completing{o: o, a: o.Attempt, seq: r.seq, tenantID: r.tenantID, webhookID: r.webhookID,
			group: r.group, count: r.count, lease: r.lease, test: r.test}
		if c.a.StartedAt.IsZero() {
			c.a.StartedAt = now
		}
		if c.a.Trigger == "" {
			c.a.Trigger = hookd.TriggerScheduled
			if c.test {
				c.a.Trigger = hookd.TriggerTest
			}
		}
		if c.a.ID == "" {
			c.a.ID = hookd.NewID(hookd.PrefixAttempt)
		}
		c.current = c.lease != 0 && c.lease == o.Lease
		cs = append(cs, c)
		hookIDs = append(hookIDs, c.webhookID)
	}
	if len(cs) == 0 {
		return nil
	}
	// Only the webhooks' state is needed: their secrets stay sealed.
	hooks, err := webhooksByID(ctx, tx, hookIDs, nil)
	if err != nil {
		return err
	}

	// 4. In outcome order, as if applied one by one: each message's new
	// state (a retry of a webhook that is not active is held), and the
	// webhooks' failure streaks, which may suspend them. The webhook rows
	// are only written at the end, suspension last, which holds the
	// waiting messages exactly as an earlier suspension would have.
	streakDirty := map[string]*hookd.Webhook{}
	var suspend []*hookd.Webhook
	for i := range cs {
		c := &cs[i]
		if w := hooks[c.webhookID]; w != nil && w.TenantID == c.tenantID {
			c.w = w
		}
		if c.current {
			c.state = c.o.State
			if c.state == hookd.StateRetrying {
				at := c.o.NextAttemptAt
				if at.IsZero() {
					at = now
				}
				c.next = MS(at)
				if c.w != nil && c.w.Active() {
					c.due = MS(at)
				} else {
					c.state = hookd.StatePending
				}
			}
			c.ends = c.group != "" && (c.state == hookd.StateSuccessful ||
				(c.state == hookd.StateFailed && c.w != nil && c.w.ContinueOnFailure))
		}
		if c.w != nil && c.a.Trigger != hookd.TriggerTest {
			changed, suspends := streak(c.w, c.a, now)
			if changed {
				streakDirty[c.w.ID] = c.w
			}
			if suspends {
				suspend = append(suspend, c.w)
			}
		}
	}

	// 5. The writes.
	if err := insertAttempts(ctx, tx, cs); err != nil {
		return err
	}
	if err := addStats(ctx, tx, cs); err != nil {
		return err
	}
	if err := d.moveMessages(ctx, tx, cs, now); err != nil {
		return err
	}
	released := map[[2]string]bool{}
	for i := range cs {
		c := &cs[i]
		// A webhook suspended by this round keeps its groups held; its
		// unsuspension releases their heads.
		if !c.ends || !c.w.Active() || released[[2]string{c.webhookID, c.group}] {
			continue
		}
		released[[2]string{c.webhookID, c.group}] = true
		if err := releaseGroup(ctx, tx, c.w, c.group, now); err != nil {
			return err
		}
	}
	for _, w := range streakDirty {
		if _, err := tx.ExecContext(ctx, "UPDATE webhooks SET failing_since = ? WHERE id = ?",
			msPtr(w.FailingSince), w.ID); err != nil {
			return fmt.Errorf("keep failure streak: %w", err)
		}
	}
	for _, w := range suspend {
		if err := suspendWebhook(ctx, tx, w, now); err != nil {
			return err
		}
	}
	return nil
}

// streak follows w's failure streak after attempt a, in memory: it reports
// whether failing_since changed, and whether the streak has now lasted
// failure_handling.suspend_after, in which case w is marked suspended.
func streak(w *hookd.Webhook, a hookd.Attempt, now time.Time) (changed, suspends bool) {
	if a.Success {
		if w.FailingSince == nil {
			return false, false
		}
		w.FailingSince = nil
		return true, false
	}
	if w.FailingSince == nil {
		t := FromMS(MS(a.StartedAt))
		w.FailingSince = &t
		changed = true
	}
	limit := time.Duration(w.FailureHandling.SuspendAfter)
	if limit > 0 && !w.Suspended && now.Sub(*w.FailingSince) >= limit {
		w.Suspended = true
		return changed, true
	}
	return changed, false
}

// attemptCols are the columns insertAttempts writes, in order.
var attemptCols = []string{"id", "tenant_id", "message_id", "webhook_id", "number", "trigger", "started_at",
	"duration_ms", "status_code", "error", "response_body", "success"}

// insertAttempts records the attempts of cs with multi-row INSERTs.
func insertAttempts(ctx context.Context, tx Conn, cs []completing) error {
	args := make([]any, 0, len(cs)*len(attemptCols))
	for i := range cs {
		c := &cs[i]
		a := &c.a
		args = append(args, a.ID, c.tenantID, c.o.MessageID, c.webhookID, c.count+1, string(a.Trigger),
			MS(a.StartedAt), a.DurationMS, a.StatusCode, a.Error, a.ResponseBody, a.Success)
	}
	if err := insertRows(ctx, tx, "attempts", attemptCols, " ON CONFLICT (id) DO NOTHING", args); err != nil {
		return fmt.Errorf("insert attempts: %w", err)
	}
	return nil
}

// moveMessages counts the attempts of cs on their messages and moves the
// messages of current leases to their new state: one UPDATE per chunk,
// its values joined by seq.
func (d *Dialect) moveMessages(ctx context.Context, tx Conn, cs []completing, now time.Time) error {
	var stale, moved []any
	for i := range cs {
		c := &cs[i]
		if !c.current {
			stale = append(stale, c.seq)
			continue
		}
		moved = append(moved, c.seq, string(c.state), c.next, c.due, MS(c.a.StartedAt), c.a.StatusCode, c.a.Error)
	}
	if len(stale) > 0 {
		err := InChunks(stale, func(list string, chunk []any) error {
			_, err := tx.ExecContext(ctx, "UPDATE messages SET attempt_count = attempt_count + 1, updated_at = ? WHERE seq IN "+list,
				append([]any{MS(now)}, chunk...)...)
			return err
		})
		if err != nil {
			return fmt.Errorf("count stale attempts: %w", err)
		}
	}
	const cols = 7
	// PostgreSQL types a VALUES list by its values, and a parameter
	// alone is text: d.Bigint casts the columns to what they are set to.
	b := d.Bigint
	row := "(" + b + ", ?, " + b + ", " + b + ", " + b + ", " + b + ", ?)"
	for len(moved) > 0 {
		rows := len(moved) / cols
		size := 1
		for _, c := range chunkSizes {
			if c <= rows {
				size = c
				break
			}
		}
		q := `UPDATE messages SET state = v.column2, attempt_count = attempt_count + 1, tries = tries + 1,
			next_attempt_at = v.column3, due_at = v.column4, lease = 0, manual = 0, last_attempt_at = v.column5,
			last_status_code = v.column6, last_error = v.column7, updated_at = ?
			FROM (VALUES ` + strings.Repeat(row+", ", size-1) + row + `) AS v WHERE messages.seq = v.column1`
		args := append([]any{MS(now)}, moved[:size*cols]...)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("move messages: %w", err)
		}
		moved = moved[size*cols:]
	}
	return nil
}
