package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

// Sweep deletes, each step in its own short transaction, at most limit
// terminal messages last updated before cutoff (with their attempts), at
// most limit events created before cutoff that have no message left, and at
// most limit idempotency keys older than IdempotencyWindow. A deleted
// failed message no longer blocks its group, which is released. Returns the
// number of rows deleted (attempts included); call again until it is 0.
// It also deletes, at most limit of each, the dashboard's expired sessions,
// portal links expired more than PortalLinkRetention ago, and delivery
// statistics older than StatsRetention.
func (s *Store) Sweep(ctx context.Context, cutoff time.Time, limit int, now time.Time) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	total := 0 // rows deleted by committed transactions
	var deleted int
	err := s.Tx(ctx, func(tx Conn) error {
		deleted = 0
		// The state list repeats messages_sweep's WHERE clause, so that
		// the planner reads that index.
		rows, err := tx.QueryContext(ctx, `SELECT seq, id, tenant_id, webhook_id, group_key, state FROM messages
			WHERE state IN (`+Lit(terminalStates...)+`) AND updated_at < ? LIMIT ?`, MS(cutoff), limit)
		if err != nil {
			return err
		}
		var seqs, ids []any
		type group struct{ tenant, webhook, key string }
		groups := map[group]bool{}
		for rows.Next() {
			var seq int64
			var id, tenant, webhook, key string
			var state hookd.MessageState
			if err := rows.Scan(&seq, &id, &tenant, &webhook, &key, &state); err != nil {
				rows.Close()
				return err
			}
			seqs, ids = append(seqs, seq), append(ids, id)
			// An ended message that may have held back its group (a
			// failure, unless its webhook continues on failure, which
			// releaseGroup sees) no longer does once deleted.
			if key != "" && state.Blocks(false) {
				groups[group{tenant, webhook, key}] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(seqs) == 0 {
			return nil
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM attempts WHERE message_id IN ("+Placeholders(len(ids))+")", ids...)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		deleted += int(n)
		res, err = tx.ExecContext(ctx, "DELETE FROM messages WHERE seq IN ("+Placeholders(len(seqs))+")", seqs...)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		deleted += int(n)
		for g := range groups {
			w, err := s.getWebhook(ctx, tx, g.tenant, g.webhook)
			if hookd.ErrorCode(err) == hookd.ENOTFOUND {
				continue
			} else if err != nil {
				return err
			}
			if err := releaseGroup(ctx, tx, w, g.key, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return total, fmt.Errorf("sweep messages: %w", err)
	}
	total += deleted
	for _, step := range []struct {
		what, query string
		arg         int64
	}{
		{"events", `DELETE FROM events WHERE id IN (SELECT id FROM events e WHERE created_at < ?
			AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.event_id = e.id) LIMIT ?)`, MS(cutoff)},
		{"idempotency keys", `DELETE FROM idempotency_keys WHERE (tenant_id, key) IN (SELECT tenant_id, key
			FROM idempotency_keys WHERE created_at <= ? LIMIT ?)`, MS(now.Add(-hookd.IdempotencyWindow))},
	} {
		res, err := s.Exec(ctx, step.query, step.arg, limit)
		if err != nil {
			return total, fmt.Errorf("sweep %s: %w", step.what, err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	n, err := s.sweepDashboard(ctx, limit, now)
	return total + n, err
}
