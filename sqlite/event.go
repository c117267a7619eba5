package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

const eventColumns = "id, tenant_id, type, payload, group_name, attributes, idempotency_key, created_at"

func scanEvent(sc interface{ Scan(...any) error }) (*hookd.Event, error) {
	var ev hookd.Event
	var payload, attrs string
	var created int64
	if err := sc.Scan(&ev.ID, &ev.TenantID, &ev.Type, &payload, &ev.Group, &attrs, &ev.IdempotencyKey, &created); err != nil {
		return nil, err
	}
	ev.Payload = json.RawMessage(payload)
	if err := json.Unmarshal([]byte(attrs), &ev.Attributes); err != nil {
		return nil, fmt.Errorf("decode attributes of event %s: %w", ev.ID, err)
	}
	ev.CreatedAt = fromMS(created)
	return &ev, nil
}

// insertEvent stores one event with a new id.
func insertEvent(ctx context.Context, tx *wtx, tenantID string, in *hookd.EventInput, now time.Time) (*hookd.Event, error) {
	attrs, err := json.Marshal(in.Attributes)
	if err != nil {
		return nil, fmt.Errorf("encode attributes: %w", err)
	}
	payload := in.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	ev := &hookd.Event{ID: hookd.NewID(hookd.PrefixEvent), TenantID: tenantID, Type: in.Type, Payload: payload,
		Group: in.Group, Attributes: in.Attributes, IdempotencyKey: in.IdempotencyKey, CreatedAt: fromMS(ms(now))}
	if _, err := tx.ExecContext(ctx, "INSERT INTO events ("+eventColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		ev.ID, tenantID, ev.Type, string(payload), ev.Group, string(attrs), ev.IdempotencyKey, ms(now)); err != nil {
		return nil, fmt.Errorf("insert event: %w", err)
	}
	return ev, nil
}

// publishTx stores one Publish call's events and their messages in tx.
// See hookd.Store. ENOTFOUND for an unknown tenant; ECONFLICT (ExistingID:
// the first event) for an idempotency key reused with another body.
func publishTx(ctx context.Context, tx *wtx, hc *hookCache, tenantID string, events []hookd.EventInput, now time.Time) ([]hookd.PublishResult, error) {
	out := make([]hookd.PublishResult, 0, len(events))
	hooks, err := hc.load(ctx, tx, tenantID)
	if err != nil {
		return nil, err
	}
	// (webhook, group) pairs that got a message in this call: a later
	// one is blocked by it without asking the database.
	busy := map[[2]string]bool{}
	for i := range events {
		in := &events[i]
		if in.IdempotencyKey != "" {
			res, dup, err := checkIdempotency(ctx, tx, tenantID, in, now)
			if err != nil {
				return nil, err
			}
			if dup {
				out = append(out, res)
				continue
			}
		}
		ev, err := insertEvent(ctx, tx, tenantID, in, now)
		if err != nil {
			return nil, err
		}
		if in.IdempotencyKey != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (tenant_id, key, fingerprint, event_id, created_at)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, key) DO UPDATE SET fingerprint = excluded.fingerprint,
				event_id = excluded.event_id, created_at = excluded.created_at`,
				tenantID, in.IdempotencyKey, in.Fingerprint(), ev.ID, ms(now)); err != nil {
				return nil, fmt.Errorf("store idempotency key: %w", err)
			}
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
			state := hookd.StateCreated
			if w.Suspended {
				state = hookd.StatePending
			} else if group != "" {
				k := [2]string{w.ID, group}
				isBlocked := busy[k]
				if !isBlocked {
					if isBlocked, err = blocked(ctx, tx, w, group, math.MaxInt64); err != nil {
						return nil, err
					}
				}
				if isBlocked {
					state = hookd.StatePending
				}
			}
			if group != "" {
				busy[[2]string{w.ID, group}] = true
			}
			var due any
			if state == hookd.StateCreated {
				due = ms(now)
			}
			if _, err := tx.ExecContext(ctx, insMsgSQL, hookd.NewID(hookd.PrefixMessage), tenantID, w.ID, ev.ID, ev.Type,
				ev.Group, group, string(state), due, due, ms(now), ms(now)); err != nil {
				return nil, fmt.Errorf("insert message: %w", err)
			}
			n++
		}
		out = append(out, hookd.PublishResult{EventID: ev.ID, Messages: n})
	}
	return out, nil
}

// checkIdempotency looks up in's key: a live key with the same fingerprint
// is a duplicate (dup true, the first event's result), with another
// fingerprint ECONFLICT. An expired or unknown key is neither.
func checkIdempotency(ctx context.Context, tx *wtx, tenantID string, in *hookd.EventInput, now time.Time) (hookd.PublishResult, bool, error) {
	var fp, eventID string
	var created int64
	err := tx.QueryRowContext(ctx, "SELECT fingerprint, event_id, created_at FROM idempotency_keys WHERE tenant_id = ? AND key = ?",
		tenantID, in.IdempotencyKey).Scan(&fp, &eventID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return hookd.PublishResult{}, false, nil
	} else if err != nil {
		return hookd.PublishResult{}, false, fmt.Errorf("look up idempotency key: %w", err)
	}
	if !now.Before(fromMS(created).Add(hookd.IdempotencyWindow)) {
		return hookd.PublishResult{}, false, nil // expired: replaced by the caller
	}
	if fp != in.Fingerprint() {
		return hookd.PublishResult{}, false, &hookd.Error{Code: hookd.ECONFLICT,
			Message: "idempotency key was used with a different event", ExistingID: eventID}
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM messages WHERE event_id = ?", eventID).Scan(&n); err != nil {
		return hookd.PublishResult{}, false, fmt.Errorf("count messages: %w", err)
	}
	return hookd.PublishResult{EventID: eventID, Messages: n, Duplicate: true}, true, nil
}

// GetEvent returns the tenant's event; ENOTFOUND.
func (db *DB) GetEvent(ctx context.Context, tenantID, id string) (*hookd.Event, error) {
	ev, err := scanEvent(db.read.QueryRowContext(ctx, "SELECT "+eventColumns+" FROM events WHERE id = ? AND tenant_id = ?", id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "event not found")
	} else if err != nil {
		return nil, fmt.Errorf("get event: %w", err)
	}
	return ev, nil
}

// ListEvents returns one page of the tenant's events in id order.
func (db *DB) ListEvents(ctx context.Context, tenantID string, f hookd.EventFilter) ([]*hookd.Event, error) {
	where := []string{"tenant_id = ?", "id > ?"}
	args := []any{tenantID, f.After}
	if f.Type != "" {
		where = append(where, "type = ?")
		args = append(args, f.Type)
	}
	if f.Since != nil {
		where = append(where, "created_at >= ?")
		args = append(args, ms(*f.Since))
	}
	if f.Until != nil {
		where = append(where, "created_at < ?")
		args = append(args, ms(*f.Until))
	}
	rows, err := db.read.QueryContext(ctx, "SELECT "+eventColumns+" FROM events WHERE "+strings.Join(where, " AND ")+
		" ORDER BY id LIMIT ?", append(args, limitOf(f.Page))...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	out := []*hookd.Event{}
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return out, nil
}

const insMsgSQL = `INSERT INTO messages (id, tenant_id, webhook_id, event_id, event_type,
			event_group, group_key, state, next_attempt_at, due_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
