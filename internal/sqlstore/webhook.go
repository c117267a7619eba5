package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

const webhookColumns = `id, tenant_id, number, name, description, url, enabled, event_types, filter, headers,
	auth, secrets, timeout_ms, max_retries, retry_schedule, grouped, continue_on_failure,
	suspend_after_ns, rate_limit, max_in_flight, suspended, suspended_at, failing_since, created_at, updated_at`

// scanWebhook scans webhookColumns, opening the sealed columns.
func (s *Store) scanWebhook(sc interface{ Scan(...any) error }) (*hookd.Webhook, error) {
	return scanWebhookRow(sc, s.openColumn)
}

// scanWebhookRow scans webhookColumns. open returns the JSON text of a
// stored sealed column (auth, secrets); nil leaves Auth and Secrets unset,
// for the readers of a webhook's state alone (Complete), which so pay
// nothing for the decryption.
func scanWebhookRow(sc interface{ Scan(...any) error }, open func(id, column, stored string) (string, error)) (*hookd.Webhook, error) {
	var w hookd.Webhook
	var eventTypes, filter, headers, auth, secrets, schedule string
	var suspendAfter, created, updated int64
	var suspendedAt, failingSince sql.NullInt64
	err := sc.Scan(&w.ID, &w.TenantID, &w.Number, &w.Name, &w.Description, &w.URL, &w.Enabled, &eventTypes, &filter,
		&headers, &auth, &secrets, &w.TimeoutMS, &w.MaxRetries, &schedule, &w.Grouped, &w.ContinueOnFailure,
		&suspendAfter, &w.RateLimit, &w.MaxInFlight, &w.Suspended, &suspendedAt, &failingSince, &created, &updated)
	if err != nil {
		return nil, err
	}
	type jsonCol struct {
		src string
		dst any
	}
	cols := []jsonCol{{eventTypes, &w.EventTypes}, {filter, &w.Filter}, {headers, &w.Headers}, {schedule, &w.RetrySchedule}}
	if open != nil {
		if auth, err = open(w.ID, colAuth, auth); err != nil {
			return nil, err
		}
		if secrets, err = open(w.ID, colSecrets, secrets); err != nil {
			return nil, err
		}
		cols = append(cols, jsonCol{auth, &w.Auth}, jsonCol{secrets, &w.Secrets})
	}
	for _, c := range cols {
		if err := json.Unmarshal([]byte(c.src), c.dst); err != nil {
			return nil, fmt.Errorf("decode webhook %s: %w", w.ID, err)
		}
	}
	w.FailureHandling.SuspendAfter = hookd.Duration(suspendAfter)
	w.SuspendedAt = fromNullMS(suspendedAt)
	w.FailingSince = fromNullMS(failingSince)
	w.CreatedAt = FromMS(created)
	w.UpdatedAt = FromMS(updated)
	return &w, nil
}

// webhookJSON holds the JSON columns of a webhook, auth and secrets in
// plain text until sealWebhook seals them.
type webhookJSON struct {
	eventTypes, filter, headers, auth, secrets, schedule string
}

func encodeWebhook(w *hookd.Webhook) (webhookJSON, error) {
	var out webhookJSON
	for _, c := range []struct {
		src any
		dst *string
	}{{w.EventTypes, &out.eventTypes}, {w.Filter, &out.filter}, {w.Headers, &out.headers}, {w.Auth, &out.auth},
		{w.Secrets, &out.secrets}, {w.RetrySchedule, &out.schedule}} {
		b, err := json.Marshal(c.src)
		if err != nil {
			return out, fmt.Errorf("encode webhook: %w", err)
		}
		*c.dst = string(b)
	}
	return out, nil
}

// normURL is the comparison form of a webhook URL; a URL that does not
// parse (the HTTP layer rejects those) compares as written.
func normURL(raw string) string {
	n, err := hookd.NormalizeURL(raw)
	if err != nil {
		return raw
	}
	return n
}

// getWebhook reads a webhook of the tenant through q; ENOTFOUND.
func (s *Store) getWebhook(ctx context.Context, q Queryer, tenantID, id string) (*hookd.Webhook, error) {
	w, err := s.scanWebhook(q.QueryRowContext(ctx, "SELECT "+webhookColumns+
		" FROM webhooks WHERE id = ? AND tenant_id = ?", id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "webhook not found")
	} else if err != nil {
		return nil, fmt.Errorf("get webhook: %w", err)
	}
	return w, nil
}

// GetWebhookByNumber returns the tenant's webhook with that number;
// ENOTFOUND.
func (s *Store) GetWebhookByNumber(ctx context.Context, tenantID string, number int64) (_ *hookd.Webhook, err error) {
	defer s.readFailed(&err)
	w, err := s.scanWebhook(s.Read.QueryRowContext(ctx, "SELECT "+webhookColumns+
		" FROM webhooks WHERE tenant_id = ? AND number = ?", tenantID, number))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "webhook not found")
	} else if err != nil {
		return nil, fmt.Errorf("get webhook by number: %w", err)
	}
	return w, nil
}

// duplicate returns ECONFLICT with the id of another webhook of the
// tenant that w duplicates (the same hookd.Webhook.DuplicateKey), or nil.
// The key begins with the normalised URL; asking for both lets the lookup
// use the index on the tenant and its URL. A unique index on the key backs
// the check (it runs under the store's single writer).
func (s *Store) duplicate(ctx context.Context, tx Conn, w *hookd.Webhook, norm string) error {
	var other string
	cond, args := s.Dialect.URLIs(norm)
	err := tx.QueryRowContext(ctx, "SELECT id FROM webhooks WHERE tenant_id = ? AND "+cond+" AND dup_key = ? AND id != ?",
		append(append([]any{w.TenantID}, args...), w.DuplicateKey(), w.ID)...).Scan(&other)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("check webhook duplicate: %w", err)
	}
	e := hookd.Errorf(hookd.ECONFLICT, "a webhook with this URL and filter exists")
	e.ExistingID = other
	return e
}

// Internal wraps errors that are not *hookd.Error with context.
func Internal(what string, err error) error {
	if err != nil && hookd.ErrorCode(err) == hookd.EINTERNAL {
		return fmt.Errorf("%s: %w", what, err)
	}
	return err
}

// CreateWebhook stores w, assigning ID, Number, CreatedAt and UpdatedAt. Suspended,
// SuspendedAt and FailingSince start cleared. ECONFLICT with ExistingID on a
// duplicate (hookd.Webhook.DuplicateKey); ENOTFOUND without tenant.
func (s *Store) CreateWebhook(ctx context.Context, w *hookd.Webhook) error {
	enc, err := encodeWebhook(w)
	if err != nil {
		return err
	}
	now := FromMS(MS(s.now()))
	norm := normURL(w.URL)
	err = s.Tx(ctx, func(tx Conn) error {
		if err := s.duplicate(ctx, tx, w, norm); err != nil {
			return err
		}
		// The tenant's counter only grows (a delete leaves it), so a number
		// is never given out twice; the transaction is the store's only
		// writer, so two creates cannot read the same value. No row: no
		// tenant (a conflict above needs a webhook, so a tenant).
		var number int64
		err := tx.QueryRowContext(ctx, "UPDATE tenants SET webhook_seq = webhook_seq + 1 WHERE id = ? RETURNING webhook_seq",
			w.TenantID).Scan(&number)
		if errors.Is(err, sql.ErrNoRows) {
			return hookd.Errorf(hookd.ENOTFOUND, "tenant not found")
		} else if err != nil {
			return err
		}
		id := hookd.NewID(hookd.PrefixWebhook)
		sealed := s.sealWebhook(id, enc) // bound to the id, known only now
		_, err = tx.ExecContext(ctx, `INSERT INTO webhooks (id, tenant_id, number, name, description, url, url_norm, dup_key,
			enabled, event_types, filter, headers, auth, secrets, timeout_ms, max_retries, retry_schedule, grouped,
			continue_on_failure, suspend_after_ns, rate_limit, max_in_flight, suspended, suspended_at, failing_since, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL, ?, ?)`,
			id, w.TenantID, number, w.Name, w.Description, w.URL, norm, w.DuplicateKey(), w.Enabled, enc.eventTypes, enc.filter, enc.headers,
			sealed.auth, sealed.secrets, w.TimeoutMS, w.MaxRetries, enc.schedule, w.Grouped, w.ContinueOnFailure,
			int64(w.FailureHandling.SuspendAfter), w.RateLimit, w.MaxInFlight, MS(now), MS(now))
		if err != nil {
			return err
		}
		w.ID, w.Number = id, number
		return nil
	})
	if err != nil {
		return Internal("create webhook", err)
	}
	w.Suspended, w.SuspendedAt, w.FailingSince = false, nil, nil
	w.CreatedAt, w.UpdatedAt = now, now
	return nil
}

// GetWebhook returns the tenant's webhook; ENOTFOUND.
func (s *Store) GetWebhook(ctx context.Context, tenantID, id string) (_ *hookd.Webhook, err error) {
	defer s.readFailed(&err)
	return s.getWebhook(ctx, s.Read, tenantID, id)
}

// ListWebhooks returns one page of f.TenantID's webhooks in id order. Every
// filter but EventTypes is applied in SQL; EventTypes (matched like
// Webhook.SubscribesToAny) is applied while scanning forward until the page
// is full. EINVALID without TenantID.
func (s *Store) ListWebhooks(ctx context.Context, f hookd.WebhookFilter) (_ []*hookd.Webhook, err error) {
	defer s.readFailed(&err)
	if f.TenantID == "" {
		return nil, hookd.Errorf(hookd.EINVALID, "tenant id required")
	}
	where := []string{"tenant_id = ?"}
	args := []any{f.TenantID}
	if f.Name != "" {
		// Case is folded for ASCII letters only, in both stores: SQLite's
		// lower() folds nothing else, nor does PostgreSQL's under the
		// column's collation "C". The parameter is folded here, so that its
		// other letters stay as they are whatever a database's locale.
		where = append(where, s.Dialect.Contains+"(lower(name), ?) > 0")
		args = append(args, asciiLower(f.Name))
	}
	if f.URL != "" {
		cond, condArgs := s.Dialect.URLIs(normURL(f.URL))
		where = append(where, cond)
		args = append(args, condArgs...)
	}
	if f.URLPrefix != "" {
		cond, condArgs := s.Dialect.HasURLPrefix(normPrefix(f.URLPrefix))
		where = append(where, cond)
		args = append(args, condArgs...)
	}
	if f.Enabled != nil {
		where = append(where, "enabled = ?")
		args = append(args, *f.Enabled)
	}
	if f.Suspended != nil {
		where = append(where, "suspended = ?")
		args = append(args, *f.Suspended)
	}
	if f.Active != nil {
		if *f.Active {
			where = append(where, "(enabled = 1 AND suspended = 0)")
		} else {
			where = append(where, "(enabled = 0 OR suspended = 1)")
		}
	}
	limit := limitOf(f.Page)
	batch := limit
	if len(f.EventTypes) > 0 && batch < 200 {
		batch = 200
	}
	query := "SELECT " + webhookColumns + " FROM webhooks WHERE " + strings.Join(where, " AND ") +
		" AND id > ? ORDER BY id LIMIT ?"
	out := []*hookd.Webhook{}
	after := f.After
	for {
		rows, err := s.Read.QueryContext(ctx, query, append(args[:len(args):len(args)], after, batch)...)
		if err != nil {
			return nil, fmt.Errorf("list webhooks: %w", err)
		}
		n := 0
		for rows.Next() {
			w, err := s.scanWebhook(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("list webhooks: %w", err)
			}
			n++
			after = w.ID
			if len(f.EventTypes) > 0 && !w.SubscribesToAny(f.EventTypes) {
				continue
			}
			out = append(out, w)
			if len(out) == limit {
				break
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("list webhooks: %w", err)
		}
		if len(out) == limit || n < batch {
			return out, nil
		}
	}
}

// normPrefix lower-cases the scheme and host of a URL prefix, the parts
// that NormalizeURL lower-cases.
func normPrefix(p string) string {
	i := strings.Index(p, "://")
	if i < 0 {
		return strings.ToLower(p)
	}
	j := strings.IndexByte(p[i+3:], '/')
	if j < 0 {
		return strings.ToLower(p)
	}
	return strings.ToLower(p[:i+3+j]) + p[i+3+j:]
}

// asciiLower folds the ASCII letters of s to lower case, as SQL's lower()
// does on the stores' name column.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// UpdateWebhook replaces the writable fields of the stored webhook (w.ID,
// w.TenantID): everything but Suspended, SuspendedAt, FailingSince and
// CreatedAt; Secrets only when w.Secrets is not nil (SetSecrets is the
// usual way). Sets UpdatedAt and refreshes w from the stored row. Disabling
// holds the webhook's waiting messages, enabling releases them in group
// order. ENOTFOUND; ECONFLICT with ExistingID on a duplicate.
func (s *Store) UpdateWebhook(ctx context.Context, w *hookd.Webhook) error {
	enc, err := encodeWebhook(w)
	if err != nil {
		return err
	}
	enc = s.sealWebhook(w.ID, enc)
	now := s.now()
	norm := normURL(w.URL)
	var stored *hookd.Webhook
	err = s.Tx(ctx, func(tx Conn) error {
		old, err := s.getWebhook(ctx, tx, w.TenantID, w.ID)
		if err != nil {
			return err
		}
		if err := s.duplicate(ctx, tx, w, norm); err != nil {
			return err
		}
		var secrets any // nil: the stored secrets stay as they are
		if w.Secrets != nil {
			secrets = enc.secrets
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET name = ?, description = ?, url = ?, url_norm = ?, dup_key = ?, enabled = ?,
			event_types = ?, filter = ?, headers = ?, auth = ?, secrets = coalesce(?, secrets), timeout_ms = ?, max_retries = ?,
			retry_schedule = ?, grouped = ?, continue_on_failure = ?, suspend_after_ns = ?, rate_limit = ?, max_in_flight = ?, updated_at = ?
			WHERE id = ?`,
			w.Name, w.Description, w.URL, norm, w.DuplicateKey(), w.Enabled, enc.eventTypes, enc.filter, enc.headers, enc.auth, secrets,
			w.TimeoutMS, w.MaxRetries, enc.schedule, w.Grouped, w.ContinueOnFailure,
			int64(w.FailureHandling.SuspendAfter), w.RateLimit, w.MaxInFlight, MS(now), w.ID)
		if err != nil {
			return err
		}
		if stored, err = s.getWebhook(ctx, tx, w.TenantID, w.ID); err != nil {
			return err
		}
		return holdOrRelease(ctx, tx, old, stored, now)
	})
	if err != nil {
		return Internal("update webhook", err)
	}
	*w = *stored
	return nil
}

// DeleteWebhook deletes the webhook; its created, pending and retrying
// messages become aborted (they and their attempts stay listable).
// ENOTFOUND.
func (s *Store) DeleteWebhook(ctx context.Context, tenantID, id string) error {
	now := MS(s.now())
	err := s.Tx(ctx, func(tx Conn) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM webhooks WHERE id = ? AND tenant_id = ?", id, tenantID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return hookd.Errorf(hookd.ENOTFOUND, "webhook not found")
		}
		_, err = tx.ExecContext(ctx, AbortWebhookQuery, now, id)
		return err
	})
	return Internal("delete webhook", err)
}

// SetSuspended suspends (holding the webhook's waiting messages) or
// unsuspends (clearing the failure streak and releasing held messages in
// group order) and returns the webhook, as hookd.SetSuspended and
// hookd.WebhookChange say, and publishes the change's operational event
// (hookd.SuspensionEvents) in the same transaction. ENOTFOUND.
func (s *Store) SetSuspended(ctx context.Context, tenantID, id string, suspended bool, now time.Time) (*hookd.Webhook, error) {
	var out *hookd.Webhook
	var ops []hookd.OperationalEvent
	now = FromMS(MS(now))
	err := s.Tx(ctx, func(tx Conn) error {
		old, err := s.getWebhook(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		w, changed := hookd.SetSuspended(*old, suspended, now)
		if changed {
			if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET suspended = ?, suspended_at = ?, failing_since = ?,
				updated_at = ? WHERE id = ?`, w.Suspended, msPtr(w.SuspendedAt), msPtr(w.FailingSince), MS(now), id); err != nil {
				return err
			}
			if err := holdOrRelease(ctx, tx, old, &w, now); err != nil {
				return err
			}
			// Published after the change: the webhook reads as changed
			// (it never receives its own events anyway).
			ops, err = PublishOperational(ctx, tx, SealedHookCache(&s.Dialect), &PendingRows{}, hookd.SuspensionEvents(old, &w, now), now)
			if err != nil {
				return err
			}
		}
		out, err = s.getWebhook(ctx, tx, tenantID, id)
		return err
	})
	if err != nil {
		return nil, Internal("set webhook suspended", err)
	}
	s.NotifyOperational(ops)
	return out, nil
}

// suspendWebhook writes w suspended at now and holds its waiting messages
// (see hookd.WebhookChange). w is as it is after the suspension; whether
// it was active before does not matter: an inactive webhook has no waiting
// message to hold.
func suspendWebhook(ctx context.Context, tx Conn, w *hookd.Webhook, now time.Time) error {
	if _, err := tx.ExecContext(ctx, "UPDATE webhooks SET suspended = 1, suspended_at = ?, updated_at = ? WHERE id = ?",
		MS(now), MS(now), w.ID); err != nil {
		return fmt.Errorf("suspend webhook: %w", err)
	}
	t := FromMS(MS(now))
	w.Suspended, w.SuspendedAt = true, &t
	return holdWebhook(ctx, tx, w.ID, now)
}

// holdOrRelease holds or releases the messages of a webhook changed from
// old to updated, as hookd.WebhookChange says.
func holdOrRelease(ctx context.Context, tx Conn, old, updated *hookd.Webhook, now time.Time) error {
	switch hold, release := hookd.WebhookChange(old, updated); {
	case hold:
		return holdWebhook(ctx, tx, updated.ID, now)
	case release:
		return releaseWebhook(ctx, tx, updated, now)
	}
	return nil
}

// SetSecrets replaces the webhook's secrets; ENOTFOUND.
func (s *Store) SetSecrets(ctx context.Context, tenantID, id string, secrets []hookd.Secret) error {
	b, err := json.Marshal(secrets)
	if err != nil {
		return fmt.Errorf("encode secrets: %w", err)
	}
	// A write like any other (in PostgreSQL under the write lock), as
	// UpdateWebhook's, which may replace the secrets too.
	res, err := s.Exec(ctx, "UPDATE webhooks SET secrets = ?, updated_at = ? WHERE id = ? AND tenant_id = ?",
		s.sealColumn(id, colSecrets, string(b)), MS(s.now()), id, tenantID)
	if err != nil {
		return fmt.Errorf("set secrets: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return hookd.Errorf(hookd.ENOTFOUND, "webhook not found")
	}
	return nil
}

// AbortWebhookQuery aborts a deleted webhook's open messages, found
// through messages_open. Arguments: updated_at, webhook id.
var AbortWebhookQuery = `UPDATE messages SET state = ` + Lit(hookd.StateAborted) + `, due_at = NULL, lease = 0,
	next_attempt_at = NULL, updated_at = ? WHERE webhook_id = ? AND ` + openIndexTerms
