package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// CreateTenant stores t, assigning an id when t.ID is empty and CreatedAt
// when it is zero; ECONFLICT if the id exists.
func (s *Store) CreateTenant(ctx context.Context, t *hookd.Tenant) error {
	if t.ID == "" {
		t.ID = hookd.NewID(hookd.PrefixTenant)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.now()
	}
	t.CreatedAt = FromMS(MS(t.CreatedAt))
	_, err := s.Exec(ctx, "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)",
		t.ID, t.Name, MS(t.CreatedAt))
	if s.Dialect.IsUniqueViolation(err) {
		e := hookd.Errorf(hookd.ECONFLICT, "tenant %q exists", t.ID)
		e.ExistingID = t.ID
		return e
	} else if err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	return nil
}

// GetTenant returns the tenant; ENOTFOUND.
func (s *Store) GetTenant(ctx context.Context, id string) (_ *hookd.Tenant, err error) {
	defer s.readFailed(&err)
	var t hookd.Tenant
	var created int64
	err = s.Fixed.QueryRowContext(ctx, "SELECT id, name, created_at FROM tenants WHERE id = ?", id).
		Scan(&t.ID, &t.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "tenant not found")
	} else if err != nil {
		return nil, fmt.Errorf("get tenant: %w", err)
	}
	t.CreatedAt = FromMS(created)
	return &t, nil
}

// ListTenants returns one page of tenants in id order.
func (s *Store) ListTenants(ctx context.Context, p hookd.Page) (_ []*hookd.Tenant, err error) {
	defer s.readFailed(&err)
	rows, err := s.Read.QueryContext(ctx,
		"SELECT id, name, created_at FROM tenants WHERE id > ? ORDER BY id LIMIT ?", p.After, limitOf(p))
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	out := []*hookd.Tenant{}
	for rows.Next() {
		var t hookd.Tenant
		var created int64
		if err := rows.Scan(&t.ID, &t.Name, &created); err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		t.CreatedAt = FromMS(created)
		out = append(out, &t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}

// DeleteTenantAttempts deletes a tenant's attempts, found through its
// messages (messages_tenant, then attempts_message): attempts has no index
// on tenant_id, which every delivery outcome would have to maintain.
// Argument: tenant id.
const DeleteTenantAttempts = "DELETE FROM attempts WHERE message_id IN (SELECT id FROM messages WHERE tenant_id = ?)"

// DeleteTenant removes the tenant and every row it owns; ENOTFOUND.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	defer s.keys.invalidate() // its keys are gone once this returns
	err := s.Tx(ctx, func(tx Conn) error {
		for _, step := range []struct{ table, query string }{
			{"attempts", DeleteTenantAttempts}, // first: found through the messages
			{"messages", "DELETE FROM messages WHERE tenant_id = ?"},
			{"events", "DELETE FROM events WHERE tenant_id = ?"},
			{"idempotency_keys", "DELETE FROM idempotency_keys WHERE tenant_id = ?"},
			{"webhooks", "DELETE FROM webhooks WHERE tenant_id = ?"},
			{"event_types", "DELETE FROM event_types WHERE tenant_id = ?"},
			{"api_keys", "DELETE FROM api_keys WHERE tenant_id = ?"},
			{"delivery_stats", "DELETE FROM delivery_stats WHERE tenant_id = ?"},
			{"ui_sessions", "DELETE FROM ui_sessions WHERE tenant_id = ?"},
		} {
			if _, err := tx.ExecContext(ctx, step.query, id); err != nil {
				return fmt.Errorf("delete %s: %w", step.table, err)
			}
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM tenants WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return hookd.Errorf(hookd.ENOTFOUND, "tenant not found")
		}
		return nil
	})
	if err != nil && hookd.ErrorCode(err) == hookd.EINTERNAL {
		return fmt.Errorf("delete tenant: %w", err)
	}
	return err
}

// tenantExists reports whether the tenant exists, read through q.
func tenantExists(ctx context.Context, q Queryer, id string) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, "SELECT count(*) FROM tenants WHERE id = ?", id).Scan(&n); err != nil {
		return false, fmt.Errorf("look up tenant: %w", err)
	}
	return n > 0, nil
}

// CreateAPIKey stores k (TokenHash set by the caller), assigning an id when
// empty and CreatedAt when zero; ENOTFOUND without tenant.
func (s *Store) CreateAPIKey(ctx context.Context, k *hookd.APIKey) error {
	scopes, err := json.Marshal(k.Scopes)
	if err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	k.CreatedAt = FromMS(MS(k.CreatedAt))
	err = s.Tx(ctx, func(tx Conn) error {
		if ok, err := tenantExists(ctx, tx, k.TenantID); err != nil {
			return err
		} else if !ok {
			return hookd.Errorf(hookd.ENOTFOUND, "tenant not found")
		}
		if k.ID == "" {
			k.ID = hookd.NewID(hookd.PrefixKey)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, tenant_id, name, scopes, token_hash, prefix, created_at, last_used_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.TenantID, k.Name, string(scopes), k.TokenHash, k.Prefix, MS(k.CreatedAt), msPtr(k.LastUsedAt))
		if s.Dialect.IsUniqueViolation(err) {
			return hookd.Errorf(hookd.ECONFLICT, "api key exists")
		}
		return err
	})
	if err != nil && hookd.ErrorCode(err) == hookd.EINTERNAL {
		return fmt.Errorf("create api key: %w", err)
	}
	return err
}

const apiKeyColumns = "id, tenant_id, name, scopes, token_hash, prefix, created_at, last_used_at"

func scanAPIKey(sc interface{ Scan(...any) error }) (*hookd.APIKey, error) {
	var k hookd.APIKey
	var scopes string
	var created int64
	var used sql.NullInt64
	if err := sc.Scan(&k.ID, &k.TenantID, &k.Name, &scopes, &k.TokenHash, &k.Prefix, &created, &used); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return nil, fmt.Errorf("decode scopes of key %s: %w", k.ID, err)
	}
	k.CreatedAt = FromMS(created)
	k.LastUsedAt = fromNullMS(used)
	return &k, nil
}

// ListAPIKeys returns one page of the tenant's keys; ENOTFOUND without
// tenant.
func (s *Store) ListAPIKeys(ctx context.Context, tenantID string, p hookd.Page) (_ []*hookd.APIKey, err error) {
	defer s.readFailed(&err)
	if ok, err := tenantExists(ctx, s.Read, tenantID); err != nil {
		return nil, err
	} else if !ok {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "tenant not found")
	}
	return queryList(ctx, s.Read, "api keys", "SELECT "+apiKeyColumns+
		" FROM api_keys WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?", []any{tenantID, p.After, limitOf(p)}, scanAPIKey)
}

// DeleteAPIKey deletes the tenant's key; ENOTFOUND.
func (s *Store) DeleteAPIKey(ctx context.Context, tenantID, id string) error {
	defer s.keys.invalidate() // the key is refused once this returns
	res, err := s.Exec(ctx, "DELETE FROM api_keys WHERE tenant_id = ? AND id = ?", tenantID, id)
	if err != nil {
		return fmt.Errorf("delete api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return hookd.Errorf(hookd.ENOTFOUND, "api key not found")
	}
	return nil
}

// TouchAPIKey sets the key's last_used_at to at unless it is later
// already. It is bookkeeping, committed lazily (see Store.Lazy): a crash
// may forget the last touch, never a key. The casts tell PostgreSQL the
// type of a parameter it cannot infer (SQLite: integer affinity, a no-op).
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	err := s.Lazy(ctx, func(tx Conn) error {
		_, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = CAST(?1 AS BIGINT)
			WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < CAST(?1 AS BIGINT))`, MS(at), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("touch api key: %w", err)
	}
	return nil
}

// FindAPIKey returns the key whose token hashes to hash; ENOTFOUND. Keys
// found are remembered for a few seconds (see keyCache): every API request
// looks its key up.
func (s *Store) FindAPIKey(ctx context.Context, hash string) (_ *hookd.APIKey, err error) {
	defer s.readFailed(&err)
	now := time.Now()
	if k, ok := s.keys.get(hash, now); ok {
		return k, nil
	}
	gen := s.keys.generation()
	k, err := scanAPIKey(s.Fixed.QueryRowContext(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE token_hash = ?", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "api key not found")
	} else if err != nil {
		return nil, fmt.Errorf("find api key: %w", err)
	}
	s.keys.put(hash, k, gen, now)
	return k, nil
}

// keyCache remembers the API keys FindAPIKey found, by token hash, so that
// a request does not cost a query. DeleteAPIKey and DeleteTenant empty
// this process's cache before they return, so a key revoked through this
// process is refused from then on. Other processes on the same database
// (or SQLite file) keep theirs: entries expire after keyCacheTTL, which
// bounds how long a key deleted through another process is still accepted
// here. Unknown tokens are not remembered: a new key works at once, and
// guessed tokens cannot fill the cache.
//
// A lookup that read the database before a delete committed must not put
// its (now stale) key into the cache after the delete emptied it: put
// only stores when the generation, which every invalidate advances, is
// still the one read before the query.
type keyCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string]cachedKey
}

type cachedKey struct {
	key     hookd.APIKey
	expires time.Time
}

const (
	keyCacheTTL = 5 * time.Second
	keyCacheMax = 4096 // keys; beyond it an arbitrary entry makes room
)

// get returns a copy of the cached key of hash, unless absent or expired.
func (c *keyCache) get(hash string, now time.Time) (*hookd.APIKey, bool) {
	c.mu.Lock()
	e, ok := c.m[hash]
	c.mu.Unlock()
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	k := e.key
	k.Scopes = slices.Clone(k.Scopes) // the caller may change its copy
	return &k, true
}

// generation returns the current generation, to pass to put.
func (c *keyCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put remembers k unless the cache was invalidated since gen was read.
func (c *keyCache) put(hash string, k *hookd.APIKey, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.m == nil {
		c.m = map[string]cachedKey{}
	}
	if _, ok := c.m[hash]; !ok && len(c.m) >= keyCacheMax {
		for h := range c.m {
			delete(c.m, h)
			break
		}
	}
	e := cachedKey{key: *k, expires: now.Add(keyCacheTTL)}
	e.key.Scopes = slices.Clone(k.Scopes)
	c.m[hash] = e
}

// invalidate forgets every key and makes lookups under way not store
// theirs.
func (c *keyCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}
