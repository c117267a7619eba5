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
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// NewLease returns a fresh non-zero lease token.
func NewLease() int64 {
	for {
		if v := rand.Int64(); v != 0 {
			return v
		}
	}
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
// with c.Token until now+c.Lease, in the store's dialect d.
func LeaseDueTx(ctx context.Context, tx Conn, d *Dialect, c *ClaimCall, now time.Time) ([]Claimed, error) {
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

// Claimed is a message Claim leased, with its event and its webhook when
// read with it (the SQLite store's parked messages; the PostgreSQL store's
// Claim reads both in its statement).
type Claimed struct {
	M      *hookd.Message
	Manual bool
	Seq    int64
	Ev     *hookd.Event
	W      *hookd.Webhook
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
		// aborts its messages, deleting a tenant deletes them); abort them
		// rather than claim them forever.
		err := s.Lazy(ctx, func(tx Conn) error {
			for _, c := range orphans {
				t, err := hookd.Abort(hookd.MessageStatus{ID: c.M.ID, TenantID: c.M.TenantID, WebhookID: c.M.WebhookID,
					State: c.M.State}, nil, now)
				if err != nil {
					continue // ended meanwhile
				}
				if _, err := tx.ExecContext(ctx, `UPDATE messages SET state = ?, due_at = NULL, lease = 0,
					next_attempt_at = NULL, updated_at = ? WHERE seq = ? AND lease = ?`,
					string(t.To), MS(now), c.Seq, token); err != nil {
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
// outside the write transaction (Fixed), in seq order (a group's messages
// in publish order). It returns the messages whose event or webhook is
// gone.
func (s *Store) deliveries(ctx context.Context, batch []Claimed, lease int64) ([]*hookd.Delivery, []Claimed, error) {
	sort.Slice(batch, func(i, j int) bool { return batch[i].Seq < batch[j].Seq })
	eventIDs := make([]string, 0, len(batch))
	webhookIDs := make([]string, 0, len(batch))
	for _, c := range batch {
		if c.Ev == nil {
			eventIDs = append(eventIDs, c.M.EventID)
		}
		if c.W == nil {
			webhookIDs = append(webhookIDs, c.M.WebhookID)
		}
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
	hooks := map[string]*hookd.Webhook{}
	if len(webhookIDs) > 0 {
		var err error
		if hooks, err = webhooksByID(ctx, s.Fixed, webhookIDs, s.openColumn); err != nil {
			return nil, nil, err
		}
	}
	for _, c := range batch {
		if c.W != nil {
			hooks[c.M.WebhookID] = c.W
		}
	}
	out := make([]*hookd.Delivery, 0, len(batch))
	var orphans []Claimed
	for _, c := range batch {
		ev, okE := events[c.M.EventID]
		w, okW := hooks[c.M.WebhookID]
		if !okE || !okW {
			orphans = append(orphans, c)
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
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET state = ?, lease = 0, next_attempt_at = NULL,
			updated_at = ? WHERE test = 1 AND lease != 0 AND due_at IS NULL AND state IN (`+Lit(openStates...)+`)`,
			string(hookd.StateFailed), MS(now)); err != nil {
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

// DeferMessage hands the message leased with lease back without an attempt,
// due again at due, as hookd.Defer says. A stale lease, a missing message
// and a test message are ignored.
func (s *Store) DeferMessage(ctx context.Context, messageID string, lease int64, due time.Time) error {
	return s.DeferMessages(ctx, []hookd.Deferral{{MessageID: messageID, Lease: lease, Due: due}})
}

// DeferMessages is DeferMessage for each of ds, in one transaction.
func (s *Store) DeferMessages(ctx context.Context, ds []hookd.Deferral) error {
	err := s.Lazy(ctx, func(tx Conn) error {
		if d := s.Dialect.ForUpdate; d != "" && len(ds) > 0 {
			// Locked first, all in seq order (the order Complete locks
			// them in): a Complete or a Claim of another node must not
			// move a message between its read and its write.
			ids := make([]any, len(ds))
			for i := range ds {
				ids[i] = ds[i].MessageID
			}
			if err := queryIn(ctx, tx, "SELECT seq FROM messages WHERE id IN (IN) ORDER BY seq"+d, nil, ids,
				func(*sql.Rows) error { return nil }); err != nil {
				return fmt.Errorf("lock messages: %w", err)
			}
		}
		now := FromMS(MS(s.now()))
		for _, d := range ds {
			seq, m, err := scanStatus(tx.QueryRowContext(ctx, "SELECT "+statusColumns+" FROM messages WHERE id = ?", d.MessageID))
			if errors.Is(err, sql.ErrNoRows) {
				continue
			} else if err != nil {
				return err
			}
			t, ok := hookd.Defer(m, d.Lease, d.Due, now)
			if !ok {
				continue
			}
			if err := writeMove(ctx, tx, seq, 0, &t); err != nil {
				return err
			}
		}
		return nil
	})
	return Internal("defer messages", err)
}

// CompleteTx applies Complete's outcomes in tx, in the store's dialect d,
// publishes the operational events of their transitions in tx
// (hookd.OperationalEvents, see PublishOperational; rows are the
// transaction's pending rows), and returns the transitions in the order
// applied and the events published. Each outcome is
// decided by hookd.ApplyOutcome on the rows it reads; this function loads
// them and writes the plan. An outcome whose attempt id is already stored
// is skipped: it was applied by an earlier call whose answer was lost.
// Times are kept to the millisecond, as stored, before the rules see them.
//
// The outcomes are applied set-wise, a few statements per batch rather
// than three per outcome: the messages are read with one query, the
// attempts inserted with multi-row INSERTs, and the messages moved with
// one UPDATE … FROM (VALUES …). When a batch holds several outcomes of one
// message, they are applied in rounds, each round taking at most one
// outcome per message, so each sees the message as the previous one left
// it. Within a round the result is that of applying the outcomes one by
// one: each transition is applied to its webhook (Transition.ApplyTo)
// before the next outcome, and a webhook suspended by the round is written
// suspended after its messages moved, which holds the waiting ones exactly
// as an earlier suspension would have.
func CompleteTx(ctx context.Context, tx Conn, d *Dialect, rows *PendingRows, outcomes []hookd.Outcome, now time.Time) ([]hookd.Transition, []hookd.OperationalEvent, error) {
	now = FromMS(MS(now))
	var out []hookd.Transition
	var ops []hookd.OperationalEvent
	rest := outcomes
	for len(rest) > 0 {
		var round []hookd.Outcome
		round, rest = splitRound(rest)
		ts, evs, err := completeRound(ctx, tx, d, round, now)
		if err != nil {
			return nil, nil, err
		}
		if out == nil {
			out = ts // one round: the usual case
		} else {
			out = append(out, ts...)
		}
		ops = append(ops, evs...)
	}
	if len(ops) == 0 {
		return out, nil, nil
	}
	// The webhooks as the outcomes left them (suspended ones hold their
	// messages), their secrets left sealed.
	ops, err := PublishOperational(ctx, tx, SealedHookCache(d), rows, ops, now)
	if err != nil {
		return nil, nil, err
	}
	return out, ops, nil
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

// completing is one outcome being applied: its message's seq and status,
// the outcome as applied, and the message's webhook.
type completing struct {
	seq int64
	m   *hookd.MessageStatus
	o   hookd.Outcome
	w   *hookd.Webhook // nil: deleted
}

// completeRound applies outcomes of distinct messages: it loads what the
// rules read, applies hookd.ApplyOutcome to each outcome in order, and
// writes the transitions. It returns them and the operational events they
// cause, to publish.
func completeRound(ctx context.Context, tx Conn, d *Dialect, outs []hookd.Outcome, now time.Time) ([]hookd.Transition, []hookd.OperationalEvent, error) {
	cs, err := loadRound(ctx, tx, d, outs)
	if err != nil || len(cs) == 0 {
		return nil, nil, err
	}
	// In outcome order, as if applied one by one: each transition changes
	// its webhook (streak, suspension) before the next outcome sees it,
	// and its events see the webhook as the outcome found it.
	ts := make([]hookd.Transition, len(cs))
	var evs []hookd.OperationalEvent
	for i := range cs {
		c := &cs[i]
		ts[i] = hookd.ApplyOutcome(*c.m, c.w, c.o, now)
		evs = append(evs, hookd.OperationalEvents(c.m, c.w, &ts[i])...)
		if c.w != nil {
			ts[i].ApplyTo(c.w)
		}
	}
	if d.LockRound != nil {
		if err := d.LockRound(ctx, tx, ts, evs); err != nil {
			return nil, nil, err
		}
	}
	if err := writeRound(ctx, tx, d, cs, ts, now); err != nil {
		return nil, nil, err
	}
	return ts, evs, nil
}

// loadRound reads what the rules need of the outcomes' messages and
// webhooks, and leaves out the outcomes not to apply: those of a message
// deleted meanwhile, and those whose attempt id is already stored (an
// earlier call whose answer was lost applied them). It gives an attempt
// without an id one, and keeps its start to the millisecond, as stored.
// The messages are locked (d.ForUpdate) in seq order, the one order in
// which every Complete locks them. One statement reads it all (see
// loadRoundQuery): on PostgreSQL each statement is a round trip, and a
// node's Complete calls run one after the other.
func loadRound(ctx context.Context, tx Conn, d *Dialect, outs []hookd.Outcome) ([]completing, error) {
	type loaded struct {
		seq     int64
		m       hookd.MessageStatus
		applied bool // the outcome's attempt is stored
	}
	msgs := make(map[string]*loaded, len(outs))
	hooks := map[string]*hookd.Webhook{}
	nw := ColumnCount(webhookColumns)
	idx := make([]any, len(outs))
	for i := range outs {
		idx[i] = i
	}
	err := InChunks(idx, func(_ string, chunk []any) error {
		args := make([]any, 0, 2*len(chunk))
		for _, i := range chunk {
			o := &outs[i.(int)]
			args = append(args, o.MessageID, o.Attempt.ID)
		}
		return QueryRows(ctx, tx, loadRoundQuery(len(chunk), d), args, func(rows *sql.Rows) error {
			r := &loaded{}
			var hookID sql.NullString
			dest := []any{&r.seq, &r.m.ID, &r.m.TenantID, &r.m.WebhookID, &r.m.EventID, &r.m.EventType, &r.m.GroupKey,
				&r.m.State, &r.m.AttemptCount, &r.m.Lease, &r.m.Test, &r.applied, &hookID}
			for range nw - 1 {
				dest = append(dest, Discard{})
			}
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			msgs[r.m.ID] = r
			if id := hookID.String; hookID.Valid && hooks[id] == nil {
				// Only the webhooks' state is needed: their secrets stay
				// sealed. Scanned once per webhook, on its first row.
				w, err := scanWebhookRow(SkipScanner{Rows: rows, Skip: len(dest) - nw}, nil)
				if err != nil {
					return err
				}
				hooks[id] = w
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("load messages: %w", err)
	}

	cs := make([]completing, 0, len(outs))
	stored := map[string]bool{}
	for i := range outs {
		o := outs[i]
		r, ok := msgs[o.MessageID]
		if !ok {
			continue // deleted with its tenant meanwhile: nothing to record it on
		}
		if o.Attempt.ID != "" && (r.applied || stored[o.Attempt.ID]) {
			continue // recorded, and applied, by an earlier Complete
		}
		stored[o.Attempt.ID] = o.Attempt.ID != "" // the same attempt twice in one call counts once
		if o.Attempt.ID == "" {
			o.Attempt.ID = hookd.NewID(hookd.PrefixAttempt)
		}
		if !o.Attempt.StartedAt.IsZero() {
			o.Attempt.StartedAt = FromMS(MS(o.Attempt.StartedAt))
		}
		c := completing{seq: r.seq, m: &r.m, o: o}
		if w := hooks[r.m.WebhookID]; w != nil && w.TenantID == r.m.TenantID {
			c.w = w // one value per webhook: the outcomes of a round share it
		}
		cs = append(cs, c)
	}
	if len(cs) == 0 {
		return nil, nil
	}
	return cs, nil
}

// loadRoundQueries caches loadRoundQuery's texts by dialect and number
// of outcomes (InChunks keeps those few).
var loadRoundQueries sync.Map // [2]any{*Dialect's ForUpdate, n} → string

// loadRoundQuery is loadRound's statement for n outcomes, given as n
// (message id, attempt id) pairs: each outcome's message (locked, in seq
// order), whether its attempt is stored already, and its webhook's
// columns (NULL when the webhook is gone).
func loadRoundQuery(n int, d *Dialect) string {
	key := [2]any{d.ForUpdate, n}
	if q, ok := loadRoundQueries.Load(key); ok {
		return q.(string)
	}
	q := `WITH o (mid, aid) AS (VALUES ` + strings.Repeat("(?, ?), ", n-1) + `(?, ?)),
	locked AS (SELECT seq, id, tenant_id, webhook_id, event_id, event_type, group_key, state, attempt_count, lease, test
		FROM messages WHERE id IN (SELECT mid FROM o) ORDER BY seq` + d.ForUpdate + `)
	SELECT l.seq, l.id, l.tenant_id, l.webhook_id, l.event_id, l.event_type, l.group_key, l.state, l.attempt_count,
		l.lease, l.test, EXISTS (SELECT 1 FROM o JOIN attempts a ON a.id = o.aid WHERE o.mid = l.id),
		` + Qualified("w", webhookColumns) + `
	FROM locked l LEFT JOIN webhooks w ON w.id = l.webhook_id ORDER BY l.seq`
	loadRoundQueries.Store(key, q)
	return q
}

// writeRound writes the round's transitions ts: the attempts and the
// messages' moves (the delivery statistics wait in memory, see
// statsbuffer.go), then the group releases, the
// webhooks' failure streaks as the round left them, and last the
// suspensions, which hold the waiting messages exactly as an earlier
// suspension would have.
func writeRound(ctx context.Context, tx Conn, d *Dialect, cs []completing, ts []hookd.Transition, now time.Time) error {
	if err := insertAttempts(ctx, tx, ts); err != nil {
		return err
	}
	if err := moveMessages(ctx, tx, d, cs, ts, now); err != nil {
		return err
	}
	released := map[[2]string]bool{}
	var releasing []*hookd.Webhook  // in the order first released
	groups := map[string][]string{} // webhook id → groups to release
	streak := map[string]*hookd.Webhook{}
	ended := map[string]bool{} // webhooks whose streak a transition of the round ended
	var suspend []*hookd.Webhook
	for i := range ts {
		c, t := &cs[i], &ts[i]
		if t.StreakStarted || t.StreakEnded {
			streak[c.w.ID] = c.w
		}
		if t.StreakEnded {
			ended[c.w.ID] = true
		}
		if t.Suspended {
			suspend = append(suspend, c.w)
		}
		k := [2]string{t.WebhookID, t.GroupKey}
		if !t.GroupReleased || c.w == nil || released[k] {
			continue // a deleted webhook's groups have nothing left to release
		}
		released[k] = true
		if groups[c.w.ID] == nil {
			releasing = append(releasing, c.w)
		}
		groups[c.w.ID] = append(groups[c.w.ID], t.GroupKey)
	}
	// releaseGroups sees the webhook as the round left it: one suspended
	// by this round keeps its groups held, and its unsuspension releases
	// their heads. One statement per webhook, which only writes.
	for _, w := range releasing {
		if err := releaseGroups(ctx, tx, w, groups[w.ID], now); err != nil {
			return err
		}
	}
	for _, w := range streak {
		// A streak the round only started keeps one that another writer
		// started meanwhile (PostgreSQL nodes complete at once): as if
		// this round had come second and found it running.
		q := "UPDATE webhooks SET failing_since = ? WHERE id = ?"
		if w.FailingSince != nil && !ended[w.ID] {
			q = "UPDATE webhooks SET failing_since = coalesce(failing_since, ?) WHERE id = ?"
		}
		if _, err := tx.ExecContext(ctx, q, msPtr(w.FailingSince), w.ID); err != nil {
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

// attemptCols are the columns insertAttempts writes, in order.
var attemptCols = []string{"id", "tenant_id", "message_id", "webhook_id", "number", "trigger", "started_at",
	"duration_ms", "status_code", "error", "response_body", "success"}

// insertAttempts records the attempts of ts with multi-row INSERTs.
func insertAttempts(ctx context.Context, tx Conn, ts []hookd.Transition) error {
	args := make([]any, 0, len(ts)*len(attemptCols))
	for i := range ts {
		a := ts[i].Attempt
		args = append(args, a.ID, a.TenantID, a.MessageID, a.WebhookID, a.Number, string(a.Trigger),
			MS(a.StartedAt), a.DurationMS, a.StatusCode, a.Error, a.ResponseBody, a.Success)
	}
	if err := insertRows(ctx, tx, "attempts", attemptCols, " ON CONFLICT (id) DO NOTHING", args); err != nil {
		return fmt.Errorf("insert attempts: %w", err)
	}
	return nil
}

// moveMessages counts the attempts of cs on their messages and writes the
// moves of their transitions ts (those of current leases): one UPDATE per
// chunk, its values joined by seq. An outcome's move also ends the manual
// mark and spends a try of the budget.
func moveMessages(ctx context.Context, tx Conn, d *Dialect, cs []completing, ts []hookd.Transition, now time.Time) error {
	var stale, moved []any
	for i := range cs {
		t := &ts[i]
		if !t.Moved {
			stale = append(stale, cs[i].seq)
			continue
		}
		a := t.Attempt
		moved = append(moved, cs[i].seq, string(t.To), msOrNull(t.NextAttemptAt), msOrNull(t.DueAt),
			MS(a.StartedAt), a.StatusCode, a.Error)
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
