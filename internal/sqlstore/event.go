package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// EventColumns are the columns of an event, in EventRow.Dests order.
const EventColumns = "id, tenant_id, type, payload, group_name, attributes, idempotency_key, created_at"

func scanEvent(sc interface{ Scan(...any) error }) (*hookd.Event, error) {
	var r EventRow
	if err := sc.Scan(r.Dests()...); err != nil {
		return nil, err
	}
	return r.Event()
}

// EventRow receives the EventColumns of a row, for queries that read an
// event with other columns.
type EventRow struct {
	ev             hookd.Event
	payload, attrs string
	created        int64
}

// Dests returns the scan destinations of EventColumns.
func (r *EventRow) Dests() []any {
	return []any{&r.ev.ID, &r.ev.TenantID, &r.ev.Type, &r.payload, &r.ev.Group, &r.attrs, &r.ev.IdempotencyKey, &r.created}
}

// Event returns the event scanned into r.
func (r *EventRow) Event() (*hookd.Event, error) {
	ev := r.ev
	ev.Payload = json.RawMessage(r.payload)
	if r.attrs == "{}" { // most events: no decoder needed
		ev.Attributes = map[string]string{}
	} else if err := json.Unmarshal([]byte(r.attrs), &ev.Attributes); err != nil {
		return nil, fmt.Errorf("decode attributes of event %s: %w", ev.ID, err)
	}
	ev.CreatedAt = FromMS(r.created)
	return &ev, nil
}

// insertEvent stores one event with a new id.
func insertEvent(ctx context.Context, tx Conn, tenantID string, in *hookd.EventInput, now time.Time) (*hookd.Event, error) {
	attrs, err := json.Marshal(in.Attributes)
	if err != nil {
		return nil, fmt.Errorf("encode attributes: %w", err)
	}
	payload := in.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	ev := &hookd.Event{ID: hookd.NewID(hookd.PrefixEvent), TenantID: tenantID, Type: in.Type, Payload: payload,
		Group: in.Group, Attributes: in.Attributes, IdempotencyKey: in.IdempotencyKey, CreatedAt: FromMS(MS(now))}
	if _, err := tx.ExecContext(ctx, "INSERT INTO events ("+EventColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		ev.ID, tenantID, ev.Type, string(payload), ev.Group, string(attrs), ev.IdempotencyKey, MS(now)); err != nil {
		return nil, fmt.Errorf("insert event: %w", err)
	}
	return ev, nil
}

// PublishTx decides one Publish call's events and their messages in tx,
// set-based: it first decides everything (idempotency keys looked up at
// once, group order checked once per (webhook, group)), then hands the
// events, keys and messages to rows, which writes them with a few
// multi-row INSERTs, so a call that fails on a rule has written nothing.
// See hookd.Store. ENOTFOUND for an unknown tenant; ECONFLICT (ExistingID:
// the first event) for an idempotency key reused with another body. An
// error of rows (rows.Err) is the transaction's, not the call's.
//
// place, when not nil, decides where each message due now goes (the
// SQLite store hands it off or parks it) and hears how the call ended.
func PublishTx(ctx context.Context, tx Conn, hc *HookCache, rows *PendingRows, place Placer, tenantID string, events []hookd.EventInput, now time.Time) (_ []hookd.PublishResult, err error) {
	if place != nil {
		defer func() { place.End(err == nil, now) }()
	}
	hooks, err := hc.load(ctx, tx, tenantID)
	if err != nil {
		return nil, err
	}
	stored, err := lookupKeys(ctx, tx, rows, tenantID, events)
	if err != nil {
		return nil, err
	}
	type use struct {
		i  int // the event that used the key first in this call
		fp string
	}
	firstUse := map[string]use{}
	// (webhook, group) pairs that got a message in this call: a later
	// one is blocked by it without asking the database.
	busy := map[[2]string]bool{}
	stuck, err := blockedGroups(ctx, tx, rows, hooks, events)
	if err != nil {
		return nil, err
	}
	nowMS := MS(now)
	out := make([]hookd.PublishResult, len(events))
	evArgs := make([]any, 0, len(events)*len(eventCols))
	msgArgs := make([]any, 0, len(events)*len(msgCols))
	var keyArgs []any
	var fresh FreshMessage
	for i := range events {
		in := &events[i]
		var fp string
		if key := in.IdempotencyKey; key != "" {
			fp = in.Fingerprint()
			if u, ok := firstUse[key]; ok { // the same key earlier in this call
				if u.fp != fp {
					e := hookd.Errorf(hookd.ECONFLICT, "idempotency key was used twice with different events")
					if out[u.i].Duplicate { // else the first is not stored: the call fails
						e.ExistingID = out[u.i].EventID
					}
					return nil, e
				}
				out[i] = out[u.i]
				out[i].Duplicate = true
				continue
			}
			firstUse[key] = use{i, fp}
			if k, ok := stored[key]; ok && now.Before(FromMS(k.created).Add(hookd.IdempotencyWindow)) {
				if k.fp != fp {
					e := hookd.Errorf(hookd.ECONFLICT, "idempotency key was used with a different event")
					e.ExistingID = k.eventID
					return nil, e
				}
				if err := rows.flush(ctx, tx); err != nil {
					return nil, err
				}
				var n int
				if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM messages WHERE event_id = ?", k.eventID).Scan(&n); err != nil {
					return nil, fmt.Errorf("count messages: %w", err)
				}
				out[i] = hookd.PublishResult{EventID: k.eventID, Messages: n, Duplicate: true}
				continue
			}
			// Unknown or expired: this event takes the key.
		}
		attrs, err := json.Marshal(in.Attributes)
		if err != nil {
			return nil, fmt.Errorf("encode attributes: %w", err)
		}
		payload := "null"
		if len(in.Payload) > 0 {
			payload = string(in.Payload)
		}
		evID := hookd.NewID(hookd.PrefixEvent)
		evArgs = append(evArgs, evID, tenantID, in.Type, payload, in.Group, string(attrs), in.IdempotencyKey, nowMS)
		if in.IdempotencyKey != "" {
			keyArgs = append(keyArgs, tenantID, in.IdempotencyKey, fp, evID, nowMS)
		}
		n := 0
		for _, w := range hooks {
			if !w.Matches(in.Type, in.Attributes) {
				continue
			}
			group := ""
			if w.Grouped {
				group = in.Group
			}
			// Whether an earlier message blocks the group: one of this
			// call's, or one stored (asked for all of the call's groups
			// at once, see blockedGroups).
			isBlocked := false
			if w.Active() && group != "" {
				k := [2]string{w.ID, group}
				isBlocked = busy[k] || stuck[k]
			}
			state := hookd.PublishedState(w, isBlocked)
			if group != "" {
				busy[[2]string{w.ID, group}] = true
			}
			var next, due any
			var lease int64
			msgID := hookd.NewID(hookd.PrefixMessage)
			if state == hookd.StateCreated {
				next, due = nowMS, nowMS
				if place != nil {
					fresh = FreshMessage{ID: msgID, TenantID: tenantID, EventID: evID, In: in, Payload: payload,
						Webhook: w, CreatedAt: FromMS(nowMS)}
					if l, d, ok := place.Place(&fresh, now); ok {
						lease, due = l, d
					}
				}
			}
			seq, err := rows.nextSeq(ctx, tx, hc.d)
			if err != nil {
				return nil, fmt.Errorf("number message: %w", err)
			}
			msgArgs = append(msgArgs, seq, msgID, tenantID, w.ID, evID, in.Type,
				in.Group, group, string(state), next, due, lease, nowMS, nowMS)
			n++
		}
		out[i] = hookd.PublishResult{EventID: evID, Messages: n}
	}
	rows.events = append(rows.events, evArgs...)
	rows.keys = append(rows.keys, keyArgs...)
	rows.messages = append(rows.messages, msgArgs...)
	return out, nil
}

// blockedGroups returns the (webhook, group) pairs of the events' groups
// whose stored messages block them (an earlier message is open, or failed
// while the webhook stops at failures): one query per webhook for all its
// groups, after the pending rows of the calls before are written. It asks
// only where the answer matters: for an active, grouped webhook that
// an event of the group matches (hooks holds only enabled webhooks).
func blockedGroups(ctx context.Context, tx Conn, rows *PendingRows, hooks []*hookd.Webhook, events []hookd.EventInput) (map[[2]string]bool, error) {
	var order []*hookd.Webhook
	groups := map[string]map[string]bool{} // webhook id → its groups in the events
	for i := range events {
		in := &events[i]
		if in.Group == "" {
			continue
		}
		for _, w := range hooks {
			if !w.Grouped || !w.Active() || !w.Matches(in.Type, in.Attributes) {
				continue
			}
			if groups[w.ID] == nil {
				groups[w.ID] = map[string]bool{}
				order = append(order, w)
			}
			groups[w.ID][in.Group] = true
		}
	}
	out := map[[2]string]bool{}
	if len(order) == 0 {
		return out, nil
	}
	if err := rows.flush(ctx, tx); err != nil {
		return nil, err
	}
	for _, w := range order {
		keys := make([]any, 0, len(groups[w.ID]))
		for _, g := range slices.Sorted(maps.Keys(groups[w.ID])) {
			keys = append(keys, g)
		}
		term, args := blockingTerm(w.ContinueOnFailure)
		err := queryIn(ctx, tx, `SELECT DISTINCT group_key FROM messages WHERE webhook_id = ? AND `+groupIndexTerms+
			` AND `+term+` AND group_key IN (IN)`, append([]any{w.ID}, args...), keys, func(r *sql.Rows) error {
			var g string
			err := r.Scan(&g)
			out[[2]string{w.ID, g}] = true
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("check group order: %w", err)
		}
	}
	return out, nil
}

// FreshMessage is a message PublishTx writes due now, as a Placer sees it.
type FreshMessage struct {
	ID, TenantID, EventID string
	In                    *hookd.EventInput
	Payload               string // the event's payload as stored
	Webhook               *hookd.Webhook
	CreatedAt             time.Time // as stored
}

// A Placer decides where PublishTx puts the messages it writes due now
// (the SQLite store hands them off to the delivery engine or parks them,
// see sqlite/fresh.go).
type Placer interface {
	// Place returns the lease and due_at (unix ms) m is written with, and
	// ok; without ok m is written due now and not leased.
	Place(m *FreshMessage, now time.Time) (lease, due int64, ok bool)
	// End ends the PublishTx call of the messages placed since the last
	// End: ok when the call succeeded (its rows are then the round's).
	End(ok bool, now time.Time)
}

// HookCache holds what Publish reads of each tenant during one
// transaction: whether it exists, and its enabled webhooks. Publish writes
// neither, so the calls of one group commit share them. Store.NewHookCache
// makes one (it opens the webhooks' secrets with the store's keys);
// SealedHookCache makes one that leaves them sealed, for a PublishTx
// without a Placer, which hands no message off and so reads no secret
// (operational events).
type HookCache struct {
	s       *Store                      // nil: the sealed columns stay unset
	d       *Dialect                    // the store's: how messages are numbered (SeqBlock)
	tenants map[string][]*hookd.Webhook // nil slice: tenant not found
}

// NewHookCache returns an empty HookCache for one transaction of s.
func (s *Store) NewHookCache() *HookCache { return &HookCache{s: s, d: &s.Dialect} }

// SealedHookCache returns an empty HookCache for one transaction of a
// store of dialect d that reads no secret.
func SealedHookCache(d *Dialect) *HookCache { return &HookCache{d: d} }

// Reset forgets what the cache read: a webhook changed in the
// transaction.
func (hc *HookCache) Reset() { hc.tenants = nil }

// load returns the tenant's enabled webhooks in id order; ENOTFOUND for an
// unknown tenant.
func (hc *HookCache) load(ctx context.Context, tx Conn, tenantID string) ([]*hookd.Webhook, error) {
	if hooks, ok := hc.tenants[tenantID]; ok {
		if hooks == nil {
			return nil, hookd.Errorf(hookd.ENOTFOUND, "tenant not found")
		}
		return hooks, nil
	}
	if hc.tenants == nil {
		hc.tenants = map[string][]*hookd.Webhook{}
	}
	if ok, err := tenantExists(ctx, tx, tenantID); err != nil {
		return nil, err
	} else if !ok {
		hc.tenants[tenantID] = nil
		return nil, hookd.Errorf(hookd.ENOTFOUND, "tenant not found")
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+webhookColumns+" FROM webhooks WHERE tenant_id = ? AND enabled = 1 ORDER BY id", tenantID)
	if err != nil {
		return nil, fmt.Errorf("load webhooks: %w", err)
	}
	defer rows.Close()
	hooks := []*hookd.Webhook{}
	for rows.Next() {
		var w *hookd.Webhook
		if hc.s != nil {
			w, err = hc.s.scanWebhook(rows)
		} else {
			w, err = scanWebhookRow(rows, nil)
		}
		if err != nil {
			return nil, fmt.Errorf("load webhooks: %w", err)
		}
		hooks = append(hooks, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load webhooks: %w", err)
	}
	hc.tenants[tenantID] = hooks
	return hooks, nil
}

// PendingRows holds the rows that the Publish calls of one transaction
// (a group commit) decided on and that are not written yet: the calls
// share their multi-row INSERTs instead of paying for a few statements
// each. Anything that reads what Publish writes (idempotency keys,
// messages) flushes them first, so every call sees the calls before it as
// if they had been written; within one call, PublishTx itself tracks the
// keys and groups its earlier events took. A failed flush fails the
// transaction: it held rows of several calls.
type PendingRows struct {
	events, keys, messages []any // values in eventCols, keyCols, msgCols order
	Err                    error // the first failed flush; sticky

	// Seq is the last message seq given out (0: not known yet this
	// transaction). SeqTop is the largest seq committed before, which the
	// SQLite store remembers: messages get their seq from it, not from
	// SQLite's max(seq)+1, so that seqs never go back when the newest
	// rows are deleted (the reading of parked rows relies on it). In
	// PostgreSQL the seqs come in blocks of Dialect.SeqBlock instead.
	Seq, SeqTop int64

	blockEnd int64 // the last seq of the current block of SeqBlock
}

// nextSeq returns the seq of the transaction's next message: the next of
// the current block of d.SeqBlock, or, without it, one past the largest
// of the table's and of any committed before (SeqTop).
func (p *PendingRows) nextSeq(ctx context.Context, tx Conn, d *Dialect) (int64, error) {
	if d.SeqBlock != nil {
		if p.Seq == 0 || p.Seq >= p.blockEnd {
			first, size, err := d.SeqBlock(ctx, tx)
			if err != nil {
				return 0, err
			}
			p.Seq, p.blockEnd = first-1, first+size-1
		}
		p.Seq++
		return p.Seq, nil
	}
	if p.Seq == 0 {
		m, err := MaxSeq(ctx, tx)
		if err != nil {
			return 0, err
		}
		p.Seq = max(m, p.SeqTop)
	}
	p.Seq++
	return p.Seq, nil
}

// MaxSeq returns the largest message seq stored, 0 for none.
func MaxSeq(ctx context.Context, q Queryer) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM messages").Scan(&v)
	return v, err
}

// Flush writes the pending rows. A key appears at most once in p.keys
// (PublishTx gives each key to one event): PostgreSQL refuses an INSERT …
// ON CONFLICT DO UPDATE that would update one row twice.
func (p *PendingRows) Flush(ctx context.Context, tx Conn) error { return p.flush(ctx, tx) }

func (p *PendingRows) flush(ctx context.Context, tx Conn) error {
	if p.Err != nil {
		return p.Err
	}
	if err := insertRows(ctx, tx, "events", eventCols, "", p.events); err != nil {
		p.Err = fmt.Errorf("insert events: %w", err)
	} else if err := insertRows(ctx, tx, "idempotency_keys", keyCols, ` ON CONFLICT (tenant_id, key) DO UPDATE
		SET fingerprint = excluded.fingerprint, event_id = excluded.event_id, created_at = excluded.created_at`, p.keys); err != nil {
		p.Err = fmt.Errorf("store idempotency keys: %w", err)
	} else if err := insertRows(ctx, tx, "messages", msgCols, "", p.messages); err != nil {
		p.Err = fmt.Errorf("insert messages: %w", err)
	}
	p.events, p.keys, p.messages = p.events[:0], p.keys[:0], p.messages[:0]
	return p.Err
}

// The columns Publish writes.
var (
	eventCols = []string{"id", "tenant_id", "type", "payload", "group_name", "attributes", "idempotency_key", "created_at"}
	keyCols   = []string{"tenant_id", "key", "fingerprint", "event_id", "created_at"}
	msgCols   = []string{"seq", "id", "tenant_id", "webhook_id", "event_id", "event_type", "event_group", "group_key", "state",
		"next_attempt_at", "due_at", "lease", "created_at", "updated_at"}
)

// storedKey is an idempotency key as stored.
type storedKey struct {
	fp, eventID string
	created     int64
}

// lookupKeys returns the tenant's stored idempotency keys (expired ones
// too) that the events use, pending rows written first.
func lookupKeys(ctx context.Context, tx Conn, pending *PendingRows, tenantID string, events []hookd.EventInput) (map[string]storedKey, error) {
	var keys []any
	seen := map[string]bool{}
	for i := range events {
		if k := events[i].IdempotencyKey; k != "" && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	out := make(map[string]storedKey, len(keys))
	if len(keys) > 0 {
		if err := pending.flush(ctx, tx); err != nil {
			return nil, err
		}
	}
	err := queryIn(ctx, tx, `SELECT key, fingerprint, event_id, created_at FROM idempotency_keys
		WHERE tenant_id = ? AND key IN (IN)`, []any{tenantID}, keys, func(rows *sql.Rows) error {
		var key string
		var k storedKey
		if err := rows.Scan(&key, &k.fp, &k.eventID, &k.created); err != nil {
			return err
		}
		out[key] = k
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up idempotency keys: %w", err)
	}
	return out, nil
}

// chunkSizes are the row counts of the multi-row statements, largest
// first: n rows are written with as many statements of the largest size
// as fit, then of the smaller ones, so that a few statements per table
// serve every batch size: SQLite's store keeps them prepared (see its
// wtx), pgx prepares each text once per connection. Powers of two: a batch
// takes at most one statement of each smaller size, and an IN list is
// padded to less than twice its length (each statement has a fixed cost:
// in SQLite, Complete of 25 outcomes took 4 statements per kind with sizes
// 256/64/16/4/1, 3 now; BenchmarkComplete 59/53 -> 46/42 µs/outcome). The
// largest statement (256 messages of 14 columns) stays far below
// PostgreSQL's limit of 65535 parameters.
var chunkSizes = []int{256, 128, 64, 32, 16, 8, 4, 2, 1}

// insertRows inserts the rows in args (len(cols) values each, in cols'
// order) into table with multi-row INSERTs; tail follows the VALUES.
func insertRows(ctx context.Context, tx Conn, table string, cols []string, tail string, args []any) error {
	row := "(" + Placeholders(len(cols)) + ")"
	for len(args) > 0 {
		rows := len(args) / len(cols)
		size := 1
		for _, c := range chunkSizes {
			if c <= rows {
				size = c
				break
			}
		}
		q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " +
			strings.Repeat(row+", ", size-1) + row + tail
		if _, err := tx.ExecContext(ctx, q, args[:size*len(cols)]...); err != nil {
			return err
		}
		args = args[size*len(cols):]
	}
	return nil
}

// GetEvent returns the tenant's event; ENOTFOUND.
func (s *Store) GetEvent(ctx context.Context, tenantID, id string) (_ *hookd.Event, err error) {
	defer s.readFailed(&err)
	ev, err := scanEvent(s.Fixed.QueryRowContext(ctx, "SELECT "+EventColumns+" FROM events WHERE id = ? AND tenant_id = ?", id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "event not found")
	} else if err != nil {
		return nil, fmt.Errorf("get event: %w", err)
	}
	return ev, nil
}

// ListEvents returns one page of the tenant's events in id order.
func (s *Store) ListEvents(ctx context.Context, tenantID string, f hookd.EventFilter) (_ []*hookd.Event, err error) {
	defer s.readFailed(&err)
	where := []string{"tenant_id = ?", "id > ?"}
	args := []any{tenantID, f.After}
	if f.Type != "" {
		where = append(where, "type = ?")
		args = append(args, f.Type)
	}
	where, args = createdBetween(where, args, f.Since, f.Until)
	return queryList(ctx, s.Read, "events", "SELECT "+EventColumns+" FROM events WHERE "+strings.Join(where, " AND ")+
		" ORDER BY id LIMIT ?", append(args, limitOf(f.Page)), scanEvent)
}
