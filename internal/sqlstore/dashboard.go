package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// The dashboard's reads and writes (hookd.SessionStore, hookd.StatsStore),
// on the tables of the stores' dashboard migrations.

// CreateSession stores a dashboard session; ENOTFOUND when its tenant (a
// portal session's) does not exist.
func (s *Store) CreateSession(ctx context.Context, ses *hookd.Session) error {
	scopes, err := json.Marshal(ses.Scopes)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	err = s.Tx(ctx, func(tx Conn) error {
		if ses.TenantID != "" {
			if ok, err := tenantExists(ctx, tx, ses.TenantID); err != nil {
				return err
			} else if !ok {
				return hookd.Errorf(hookd.ENOTFOUND, "tenant not found")
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ui_sessions (token_hash, credential_hash, tenant_id, scopes, link_id, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, ses.TokenHash, ses.CredentialHash, ses.TenantID, string(scopes), ses.LinkID,
			MS(ses.CreatedAt), MS(ses.ExpiresAt))
		return err
	})
	return Internal("create session", err)
}

// FindSession returns the session of a token hash unless it expired before
// now; ENOTFOUND.
func (s *Store) FindSession(ctx context.Context, hash string, now time.Time) (*hookd.Session, error) {
	var ses hookd.Session
	var scopes string
	var created, expires int64
	err := s.Fixed.QueryRowContext(ctx, `SELECT token_hash, credential_hash, tenant_id, scopes, link_id, created_at, expires_at
		FROM ui_sessions WHERE token_hash = ?`, hash).Scan(&ses.TokenHash, &ses.CredentialHash, &ses.TenantID,
		&scopes, &ses.LinkID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && expires <= MS(now)) {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "session not found or expired")
	} else if err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}
	if err := json.Unmarshal([]byte(scopes), &ses.Scopes); err != nil {
		return nil, fmt.Errorf("decode session scopes: %w", err)
	}
	ses.CreatedAt, ses.ExpiresAt = FromMS(created), FromMS(expires)
	return &ses, nil
}

// DeleteSession deletes the session of a token hash, if any.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.Exec(ctx, "DELETE FROM ui_sessions WHERE token_hash = ?", hash)
	return Internal("delete session", err)
}

// CreatePortalLink stores a portal link (a new id when it has none);
// ENOTFOUND without its tenant.
func (s *Store) CreatePortalLink(ctx context.Context, l *hookd.PortalLink) error {
	if l.ID == "" {
		l.ID = hookd.NewID(hookd.PrefixPortalLink)
	}
	err := s.Tx(ctx, func(tx Conn) error {
		if ok, err := tenantExists(ctx, tx, l.TenantID); err != nil {
			return err
		} else if !ok {
			return hookd.Errorf(hookd.ENOTFOUND, "tenant not found")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO portal_links (id, token_hash, tenant_id, label, created_by, read_only,
			session_ttl_ms, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, l.ID, l.TokenHash, l.TenantID,
			l.Label, l.CreatedBy, BoolInt(l.ReadOnly), l.SessionTTL.Milliseconds(), MS(l.CreatedAt), MS(l.ExpiresAt))
		return err
	})
	return Internal("create portal link", err)
}

// portalLinkColumns are what scanPortalLink reads, in order.
const portalLinkColumns = `id, token_hash, tenant_id, label, created_by, read_only, session_ttl_ms, created_at, expires_at,
	used_at, revoked_at`

func scanPortalLink(sc interface{ Scan(...any) error }) (*hookd.PortalLink, error) {
	var l hookd.PortalLink
	var ro, ttl, created, expires int64
	var used, revoked sql.NullInt64
	if err := sc.Scan(&l.ID, &l.TokenHash, &l.TenantID, &l.Label, &l.CreatedBy, &ro, &ttl, &created, &expires,
		&used, &revoked); err != nil {
		return nil, err
	}
	l.ReadOnly, l.SessionTTL = ro != 0, time.Duration(ttl)*time.Millisecond
	l.CreatedAt, l.ExpiresAt = FromMS(created), FromMS(expires)
	if used.Valid {
		l.UsedAt = hookd.Ptr(FromMS(used.Int64))
	}
	if revoked.Valid {
		l.RevokedAt = hookd.Ptr(FromMS(revoked.Int64))
	}
	return &l, nil
}

// UsePortalLink marks the portal link of a token hash used and returns it,
// unless it was used or revoked, or expired before now; ENOTFOUND (one
// answer for all: a link's holder learns nothing of others). The UPDATE
// names every condition, so of two nodes using one link at once only
// one changes the row.
func (s *Store) UsePortalLink(ctx context.Context, hash string, now time.Time) (*hookd.PortalLink, error) {
	var l *hookd.PortalLink
	err := s.Tx(ctx, func(tx Conn) error {
		res, err := tx.ExecContext(ctx, `UPDATE portal_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL
			AND revoked_at IS NULL AND expires_at > ?`, MS(now), hash, MS(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return hookd.Errorf(hookd.ENOTFOUND, "portal link not found, used or expired")
		}
		l, err = scanPortalLink(tx.QueryRowContext(ctx, "SELECT "+portalLinkColumns+" FROM portal_links WHERE token_hash = ?", hash))
		return err
	})
	if err != nil {
		return nil, Internal("use portal link", err)
	}
	return l, nil
}

// ListPortalLinks returns the tenant's portal links, newest first, at most
// limit, through portal_links_tenant.
func (s *Store) ListPortalLinks(ctx context.Context, tenantID string, limit int) ([]*hookd.PortalLink, error) {
	if limit <= 0 {
		limit = pageLimit
	}
	out := []*hookd.PortalLink{}
	err := QueryRows(ctx, s.Read, "SELECT "+portalLinkColumns+" FROM portal_links WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
		[]any{tenantID, limit}, func(rows *sql.Rows) error {
			l, err := scanPortalLink(rows)
			if err == nil {
				out = append(out, l)
			}
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("list portal links: %w", err)
	}
	return out, nil
}

// RevokePortalLink revokes the tenant's portal link (its first revocation
// time stays) and deletes the session it opened, in one transaction;
// ENOTFOUND.
func (s *Store) RevokePortalLink(ctx context.Context, tenantID, id string, now time.Time) (*hookd.PortalLink, error) {
	var l *hookd.PortalLink
	err := s.Tx(ctx, func(tx Conn) error {
		res, err := tx.ExecContext(ctx, `UPDATE portal_links SET revoked_at = ? WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL`,
			MS(now), id, tenantID)
		if err != nil {
			return err
		}
		if _, err := res.RowsAffected(); err != nil {
			return err
		}
		l, err = scanPortalLink(tx.QueryRowContext(ctx, "SELECT "+portalLinkColumns+" FROM portal_links WHERE id = ? AND tenant_id = ?", id, tenantID))
		if errors.Is(err, sql.ErrNoRows) {
			return hookd.Errorf(hookd.ENOTFOUND, "portal link not found")
		} else if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM ui_sessions WHERE link_id = ?", id)
		return err
	})
	if err != nil {
		return nil, Internal("revoke portal link", err)
	}
	return l, nil
}

// sweepDashboard deletes at most limit expired sessions, portal links
// expired more than hookd.PortalLinkRetention ago, and delivery
// statistics older than hookd.StatsRetention; part of Sweep. The
// statistics waiting in memory are written first, so that the sweep
// sees them too (else an old bucket written after it would outlive it).
func (s *Store) sweepDashboard(ctx context.Context, limit int, now time.Time) (int, error) {
	if err := s.flushStats(ctx, false); err != nil {
		return 0, err
	}
	total := 0
	for _, step := range []struct {
		what, query string
		arg         int64
	}{
		{"sessions", `DELETE FROM ui_sessions WHERE token_hash IN (SELECT token_hash FROM ui_sessions
			WHERE expires_at <= ? LIMIT ?)`, MS(now)},
		{"portal links", `DELETE FROM portal_links WHERE token_hash IN (SELECT token_hash FROM portal_links
			WHERE expires_at <= ? LIMIT ?)`, MS(now.Add(-hookd.PortalLinkRetention))},
		{"delivery statistics", `DELETE FROM delivery_stats WHERE (tenant_id, webhook_id, bucket) IN
			(SELECT tenant_id, webhook_id, bucket FROM delivery_stats WHERE bucket < ? LIMIT ?)`, MS(now.Add(-hookd.StatsRetention))},
	} {
		res, err := s.Exec(ctx, step.query, step.arg, limit)
		if err != nil {
			return total, fmt.Errorf("sweep %s: %w", step.what, err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	return total, nil
}

// histCols are delivery_stats' histogram columns, l0 … l25.
var histCols = func() []string {
	out := make([]string, len(hookd.LatencyBounds)+1)
	for i := range out {
		out[i] = "l" + strconv.Itoa(i)
	}
	return out
}()

// statsCols are the columns writeStats writes, in order.
var statsCols = append([]string{"tenant_id", "webhook_id", "bucket", "attempts", "successes"}, histCols...)

// shardedStatsCols are the columns addStats writes with a shard (see
// Dialect.StatsShard).
var shardedStatsCols = append(append([]string{}, statsCols[:3]...), append([]string{"shard"}, statsCols[3:]...)...)

// statsUpsert adds a row's counts to the stored ones: the row of the
// conflict target's columns.
func statsUpsert(target string) string {
	set := []string{"attempts = delivery_stats.attempts + excluded.attempts",
		"successes = delivery_stats.successes + excluded.successes"}
	for _, c := range histCols {
		set = append(set, c+" = delivery_stats."+c+" + excluded."+c)
	}
	return " ON CONFLICT (" + target + ") DO UPDATE SET " + strings.Join(set, ", ")
}

var (
	plainUpsert   = statsUpsert("tenant_id, webhook_id, bucket")
	shardedUpsert = statsUpsert("tenant_id, webhook_id, bucket, shard")
)

// capped counts the rows of a query's WHERE, reading at most limit+1.
func capped(where string) string {
	return "(SELECT count(*) FROM (SELECT 1 FROM messages WHERE " + where + " LIMIT ?) AS c)"
}

// CountMessagesRow is CountMessages' statement for one tenant: each term
// spelled so that its index serves it alone (see the dashboard migration):
// the partial indexes' WHERE clauses repeated, the states literal.
var CountMessagesRow = "SELECT CAST(? AS TEXT), " + strings.Join([]string{
	capped("tenant_id = ? AND id >= ?"),
	capped("tenant_id = ? AND state = " + Lit(hookd.StateFailed) + " AND id >= ?"),
	capped("webhook_id IN (SELECT id FROM webhooks WHERE tenant_id = ?) AND " + openIndexTerms + " AND state = " + Lit(hookd.StateCreated) + " AND id >= ?"),
	capped("webhook_id IN (SELECT id FROM webhooks WHERE tenant_id = ?) AND " + openIndexTerms + " AND state = " + Lit(hookd.StatePending) + " AND id >= ?"),
	capped("webhook_id IN (SELECT id FROM webhooks WHERE tenant_id = ?) AND " + openIndexTerms + " AND state = " + Lit(hookd.StateRetrying) + " AND id >= ?"),
	capped("tenant_id = ? AND " + endedIndexTerms + " AND state = " + Lit(hookd.StateAborted) + " AND id >= ?"),
	capped("tenant_id = ? AND " + endedIndexTerms + " AND state = " + Lit(hookd.StateResolved) + " AND id >= ?"),
}, ", ")

// endedIndexTerms repeats the partial index messages_ended's WHERE clause
// (state IN ('aborted', 'resolved'), in the migrations): the states a
// message is ended in by hand.
var endedIndexTerms = `state IN (` + Lit(hookd.StateAborted, hookd.StateResolved) + `)`

// countedStates are the states of CountMessagesRow's columns after the
// total, in order.
var countedStates = []hookd.MessageState{hookd.StateFailed, hookd.StateCreated, hookd.StatePending,
	hookd.StateRetrying, hookd.StateAborted, hookd.StateResolved}

// CountMessages counts each tenant's messages with ids >= from by state,
// each count capped at limit+1; successful is the total less the others
// while the total is within the limit, else -1. One statement for all the
// tenants, each of its counts an index range of at most limit+1 entries.
func (s *Store) CountMessages(ctx context.Context, tenantIDs []string, from string, limit int) ([]hookd.MessageCounts, error) {
	out := make([]hookd.MessageCounts, 0, len(tenantIDs))
	if len(tenantIDs) == 0 {
		return out, nil
	}
	if limit < 0 {
		limit = 0
	}
	var parts []string
	var args []any
	for _, t := range tenantIDs {
		parts = append(parts, CountMessagesRow)
		args = append(args, t)
		for range 1 + len(countedStates) {
			args = append(args, t, from, limit+1)
		}
	}
	err := QueryRows(ctx, s.Read, strings.Join(parts, " UNION ALL "), args, func(rows *sql.Rows) error {
		c := hookd.MessageCounts{States: map[hookd.MessageState]int{}}
		n := make([]int, len(countedStates))
		dst := []any{&c.TenantID, &c.Total}
		for i := range n {
			dst = append(dst, &n[i])
		}
		if err := rows.Scan(dst...); err != nil {
			return err
		}
		rest := 0
		for i, st := range countedStates {
			c.States[st] = n[i]
			rest += n[i]
		}
		c.States[hookd.StateSuccessful] = -1
		if c.Total <= limit {
			c.States[hookd.StateSuccessful] = max(0, c.Total-rest)
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count messages: %w", err)
	}
	return out, nil
}

// CountWebhooks counts each tenant's webhooks: all, suspended, disabled and
// failing.
func (s *Store) CountWebhooks(ctx context.Context, tenantIDs []string) ([]hookd.WebhookCounts, error) {
	byTenant := map[string]*hookd.WebhookCounts{}
	err := queryIn(ctx, s.Read, `SELECT tenant_id, count(*), CAST(sum(suspended) AS BIGINT), CAST(sum(1 - enabled) AS BIGINT),
		CAST(sum(CASE WHEN failing_since IS NULL THEN 0 ELSE 1 END) AS BIGINT) FROM webhooks WHERE tenant_id IN (IN) GROUP BY tenant_id`,
		nil, uniq(tenantIDs), func(rows *sql.Rows) error {
			var c hookd.WebhookCounts
			if err := rows.Scan(&c.TenantID, &c.Webhooks, &c.Suspended, &c.Disabled, &c.Failing); err != nil {
				return err
			}
			byTenant[c.TenantID] = &c
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("count webhooks: %w", err)
	}
	out := make([]hookd.WebhookCounts, 0, len(tenantIDs))
	for _, t := range tenantIDs {
		if c, ok := byTenant[t]; ok {
			out = append(out, *c)
		} else {
			out = append(out, hookd.WebhookCounts{TenantID: t})
		}
	}
	return out, nil
}

// WebhookHealth sums delivery_stats of the tenant's webhooks (all of them
// when webhookIDs is empty) in [since, until) by step, in SQL: the answer
// is one row per webhook and step.
func (s *Store) WebhookHealth(ctx context.Context, tenantID string, webhookIDs []string, since, until time.Time,
	step time.Duration) (map[string]*hookd.Health, error) {
	width := hookd.StatsBucket.Milliseconds()
	from := MS(since) - MS(since)%width
	stepMS := max(width, step.Milliseconds()-step.Milliseconds()%width)
	sums := make([]string, 0, len(histCols))
	for _, c := range histCols {
		sums = append(sums, "CAST(sum("+c+") AS BIGINT)")
	}
	b := s.Dialect.Bigint
	q := "SELECT webhook_id, (bucket - " + b + ") / " + b + " AS step, CAST(sum(attempts) AS BIGINT), CAST(sum(successes) AS BIGINT), " + strings.Join(sums, ", ") +
		" FROM delivery_stats WHERE tenant_id = ? AND bucket >= ? AND bucket < ?"
	args := []any{from, stepMS, tenantID, from, MS(until)}
	out := map[string]*hookd.Health{}
	scan := func(rows *sql.Rows) error {
		var id string
		var n int64
		p := hookd.HealthPoint{Latency: make(hookd.Histogram, len(histCols))}
		dst := []any{&id, &n, &p.Attempts, &p.Successes}
		for i := range p.Latency {
			dst = append(dst, &p.Latency[i])
		}
		if err := rows.Scan(dst...); err != nil {
			return err
		}
		p.Start = FromMS(from + n*stepMS)
		h, ok := out[id]
		if !ok {
			h = &hookd.Health{WebhookID: id, Total: hookd.HealthPoint{Start: FromMS(from)}}
			out[id] = h
		}
		h.Total.Attempts += p.Attempts
		h.Total.Successes += p.Successes
		h.Total.Latency.Add(p.Latency)
		h.Points = append(h.Points, p)
		return nil
	}
	// The statistics still waiting in memory count too (see
	// statsbuffer.go): read and added while no flush moves them.
	s.stats.flush.Lock()
	defer s.stats.flush.Unlock()
	var err error
	if len(webhookIDs) == 0 {
		err = QueryRows(ctx, s.Read, q+" GROUP BY webhook_id, step", args, scan)
	} else {
		err = queryIn(ctx, s.Read, q+" AND webhook_id IN (IN) GROUP BY webhook_id, step", args, uniq(webhookIDs), scan)
	}
	if err != nil {
		return nil, fmt.Errorf("webhook health: %w", err)
	}
	ids := map[string]bool{}
	for _, id := range webhookIDs {
		ids[id] = true
	}
	s.stats.waiting(tenantID, ids, from, MS(until), func(k statsKey, c *statsCounts) {
		h, ok := out[k.webhook]
		if !ok {
			h = &hookd.Health{WebhookID: k.webhook, Total: hookd.HealthPoint{Start: FromMS(from)}}
			out[k.webhook] = h
		}
		start := FromMS(from + (k.bucket-from)/stepMS*stepMS)
		h.Total.Attempts += c.attempts
		h.Total.Successes += c.successes
		h.Total.Latency.Add(c.hist)
		for i := range h.Points {
			if p := &h.Points[i]; p.Start.Equal(start) {
				p.Attempts += c.attempts
				p.Successes += c.successes
				p.Latency.Add(c.hist)
				return
			}
		}
		h.Points = append(h.Points, hookd.HealthPoint{Start: start, Attempts: c.attempts, Successes: c.successes, Latency: c.hist})
	})
	for _, h := range out {
		slices.SortFunc(h.Points, func(a, b hookd.HealthPoint) int { return a.Start.Compare(b.Start) })
	}
	return out, nil
}

// scanBound returns the id at which a bounded scan of the newest-first
// range (index, its terms) stops: the Scan-th entry, or "" when the range
// holds fewer.
func (s *Store) scanBound(ctx context.Context, table string, where []string, args []any, scan int) (string, error) {
	var id string
	err := s.Read.QueryRowContext(ctx, "SELECT id FROM "+table+" WHERE "+strings.Join(where, " AND ")+
		" ORDER BY id DESC LIMIT 1 OFFSET ?", append(slices.Clone(args), scan-1)...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// window returns the terms of a newest-first list's id bounds.
func window(where []string, args []any, before, from string) ([]string, []any) {
	if before != "" {
		where = append(where, "id < ?")
		args = append(args, before)
	}
	if from != "" {
		where = append(where, "id >= ?")
		args = append(args, from)
	}
	return where, args
}

// BrowseMessages returns a page of the tenant's messages, newest first, by
// the index that serves its filter: messages_webhook for a webhook,
// messages_failed for failed alone, messages_tenant otherwise. A filter
// that index does not hold (other states, event type, group) reads at most
// q.Scan entries (see hookd.MessageQuery).
func (s *Store) BrowseMessages(ctx context.Context, tenantID string, q hookd.MessageQuery) ([]*hookd.Message, hookd.Next, error) {
	return browseMessages(ctx, s, tenantID, q, MessageColumns,
		func(sc interface{ Scan(...any) error }) (*hookd.Message, error) { return ScanMessage(sc) },
		func(m *hookd.Message) string { return m.ID })
}

// MessageIDs is BrowseMessages reading the ids alone: a bulk action's
// search (hookd.BulkMessageStore), which an index that holds its filter
// answers without reading a message.
func (s *Store) MessageIDs(ctx context.Context, tenantID string, q hookd.MessageQuery) ([]string, hookd.Next, error) {
	return browseMessages(ctx, s, tenantID, q, "id",
		func(sc interface{ Scan(...any) error }) (id string, err error) { return id, sc.Scan(&id) },
		func(id string) string { return id })
}

// browseMessages reads a page of BrowseMessages' query, cols of each row.
func browseMessages[T any](ctx context.Context, s *Store, tenantID string, q hookd.MessageQuery, cols string,
	scan func(interface{ Scan(...any) error }) (T, error), id func(T) string) ([]T, hookd.Next, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = pageLimit
	}
	base := []string{"tenant_id = ?"}
	args := []any{tenantID}
	if q.WebhookID != "" {
		// The tenant's term written so that no index serves it: the
		// webhook's range of messages_webhook is the one to read (SQLite's
		// planner, without statistics, would take messages_tenant and read
		// every webhook's messages to find this one's).
		base = []string{"tenant_id || '' = ?", "webhook_id = ?"}
		args = append(args, q.WebhookID)
	}
	base, args = window(base, args, q.Before, q.From)
	where := slices.Clone(base)
	fargs := slices.Clone(args)
	// One state has an index of its own where a partial index holds it:
	// failed (messages_failed), aborted and resolved (messages_ended),
	// and the open states of one webhook (messages_open). The term is
	// written literally, with the index's own terms, for the planner.
	states := slices.Compact(slices.Sorted(slices.Values(q.States)))
	one := ""
	if len(states) == 1 {
		one = string(states[0])
	}
	indexed := ""
	switch {
	case one == string(hookd.StateFailed):
		indexed = "state = " + Lit(hookd.StateFailed)
	case one == string(hookd.StateAborted) || one == string(hookd.StateResolved):
		indexed = endedIndexTerms + " AND state = " + Lit(states[0])
	case q.WebhookID != "" && hookd.MessageState(one).Open():
		indexed = openIndexTerms + " AND state = " + Lit(states[0])
	}
	unindexed := q.EventType != "" || q.Group != "" || (len(states) > 0 && indexed == "")
	switch {
	case indexed != "":
		where = append(where, indexed)
	case len(q.States) > 0:
		where = append(where, "state IN ("+Placeholders(len(states))+")")
		for _, st := range states {
			fargs = append(fargs, string(st))
		}
	}
	if q.EventType != "" {
		where = append(where, "event_type = ?")
		fargs = append(fargs, q.EventType)
	}
	if q.Group != "" {
		where = append(where, "event_group = ?")
		fargs = append(fargs, q.Group)
	}
	bound := ""
	if unindexed && q.Scan > 0 {
		var err error
		if bound, err = s.scanBound(ctx, "messages", base, args, q.Scan); err != nil {
			return nil, hookd.Next{}, fmt.Errorf("browse messages: %w", err)
		}
		if bound != "" {
			where = append(where, "id >= ?")
			fargs = append(fargs, bound)
		}
	}
	items, err := queryList(ctx, s.Read, "messages", "SELECT "+cols+" FROM messages WHERE "+
		strings.Join(where, " AND ")+" ORDER BY id DESC LIMIT ?", append(fargs, limit+1), scan)
	if err != nil {
		return nil, hookd.Next{}, err
	}
	return pageOf(items, limit, bound, id)
}

// pageOf cuts a newest-first query's limit+1 rows to a page and says where
// the next begins.
func pageOf[T any](items []T, limit int, bound string, id func(T) string) ([]T, hookd.Next, error) {
	switch {
	case len(items) > limit:
		return items[:limit], hookd.Next{Before: id(items[limit-1])}, nil
	case bound != "":
		return items, hookd.Next{Before: bound, Scanned: true}, nil
	}
	return items, hookd.Next{}, nil
}

// BrowseEvents returns a page of the tenant's events, newest first, through
// events_tenant; a type filter reads at most q.Scan entries.
func (s *Store) BrowseEvents(ctx context.Context, tenantID string, q hookd.EventQuery) ([]*hookd.Event, hookd.Next, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = pageLimit
	}
	base, args := window([]string{"tenant_id = ?"}, []any{tenantID}, q.Before, q.From)
	where, fargs := slices.Clone(base), slices.Clone(args)
	bound := ""
	if q.Type != "" {
		where = append(where, "type = ?")
		fargs = append(fargs, q.Type)
		if q.Scan > 0 {
			var err error
			if bound, err = s.scanBound(ctx, "events", base, args, q.Scan); err != nil {
				return nil, hookd.Next{}, fmt.Errorf("browse events: %w", err)
			}
			if bound != "" {
				where = append(where, "id >= ?")
				fargs = append(fargs, bound)
			}
		}
	}
	items, err := queryList(ctx, s.Read, "events", "SELECT "+EventColumns+" FROM events WHERE "+
		strings.Join(where, " AND ")+" ORDER BY id DESC LIMIT ?", append(fargs, limit+1), scanEvent)
	if err != nil {
		return nil, hookd.Next{}, err
	}
	return pageOf(items, limit, bound, func(e *hookd.Event) string { return e.ID })
}

// MessagesOfEvents returns the tenant's messages of the events through
// messages_event, in id order.
func (s *Store) MessagesOfEvents(ctx context.Context, tenantID string, eventIDs []string) ([]*hookd.Message, error) {
	out := []*hookd.Message{}
	if len(eventIDs) == 0 {
		return out, nil
	}
	// The tenant's term is not indexed on purpose: the events' range of
	// messages_event is the one to read, not the tenant's messages.
	err := queryIn(ctx, s.Read, "SELECT "+MessageColumns+" FROM messages WHERE tenant_id || '' = ? AND event_id IN (IN)",
		[]any{tenantID}, uniq(eventIDs), func(rows *sql.Rows) error {
			m, err := ScanMessage(rows)
			if err == nil {
				out = append(out, m)
			}
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("messages of events: %w", err)
	}
	slices.SortFunc(out, func(a, b *hookd.Message) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
