package postgres

import (
	"context"
	"database/sql"
)

// WriteLock is the key of the advisory lock every write transaction takes,
// for tests that hold it to see who waits for it.
const WriteLock = writeLock

// OnRound makes db call fn with the number of Publish calls of each group
// commit, once committed.
func (db *DB) OnRound(fn func(calls int)) { db.pub.onRound = fn }

// InTx runs fn in a write transaction (lazy: as the delivery engine's
// bookkeeping, under the shared write lock), with a function running a
// query in it.
func (db *DB) InTx(ctx context.Context, lazy bool, fn func(q func(string) *sql.Row) error) error {
	m := exclusive
	if lazy {
		m = engine
	}
	return db.write(ctx, m, func(tx *wtx) error {
		return fn(func(query string) *sql.Row { return tx.QueryRowContext(ctx, query) })
	})
}

// Unavailable is the dialect's reading of an error: why the database
// cannot serve a call now, or "".
func Unavailable(err error) string { return unavailable(err) }

// OpenAtVersion is Open applying only the migrations up to version: a
// database as a hookd of that schema left it.
func OpenAtVersion(ctx context.Context, url string, version int) (*DB, error) {
	return open(ctx, url, version)
}

// Rebind returns the text the store runs for a statement of sqlstore,
// written with '?' placeholders.
func Rebind(query string) string { return rebind(query) }

// GroupLock returns the two keys of the advisory lock of the tenant's
// group, for tests that hold it.
func GroupLock(tenantID, group string) (int32, int32) {
	k := groupLock(tenantID, group)
	return k.a, k.b
}

// IdempotencyLock returns the two keys of the advisory lock of the
// tenant's idempotency key.
func IdempotencyLock(tenantID, key string) (int32, int32) {
	k := idempotencyLock(tenantID, key)
	return k.a, k.b
}

// Renumber is renumber: $N placeholders shifted by off.
func Renumber(query string, off int) string { return renumber(query, off) }
