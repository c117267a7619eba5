// Package postgres is hookd's Store on PostgreSQL, for operators who run
// several hookd processes (nodes) against one database or outgrow one
// machine's disk. It keeps the SQLite store's schema and rules (the same
// storetest suite checks both); where the SQLite store has one writer,
// nodes here write at once, and what keeps the rules is locks:
//
//   - The write lock, one transaction-level advisory lock of the
//     database, is taken shared by the delivery engine's work (Publish,
//     Complete, DeferMessage, TouchAPIKey) and exclusively by every other
//     write (webhooks, tenants, manual actions, Sweep, migrations): those
//     run alone, as on SQLite, and the engine's work runs side by side.
//     Claim takes no advisory lock at all.
//   - Claim leases with FOR UPDATE SKIP LOCKED: two claims never lease
//     the same message, and neither waits for the other.
//   - A group's lock (an advisory lock of the tenant and group name) is
//     held by a Publish adding messages to the group and by a Complete
//     releasing its next message, so that each sees the other's work:
//     a message published behind one that is being completed is released
//     by that Complete or published due, never left held. Message seqs,
//     a group's order, come from a sequence in blocks taken under the
//     group's lock (migrations/0010).
//   - An idempotency key's lock serialises the Publish calls that use the
//     key: the second sees the first's event.
//   - Complete and DeferMessage lock the message rows they read (FOR
//     UPDATE, in seq order) before they decide and write.
//   - A Complete that would suspend a webhook (and hold its messages,
//     which a concurrent Publish may be adding to), or announce the start
//     or end of its failure streak (which another node may be starting or
//     ending too), applies its outcomes again under the exclusive write
//     lock; a streak started without an announcement (by a delivery of
//     an operational event) is written so that two nodes starting one
//     keep the first (sqlstore). The operational
//     events a Complete publishes take their group's lock as Publish's
//     events do.
//
// Reads never wait for any of them. Advisory locks are the database's:
// stores in several schemas of one database share them.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// writeLock is the key of the advisory lock every write transaction takes,
// shared or exclusively (see the package comment).
const writeLock = 0x686f6f6b64 // "hookd"

// DB is the PostgreSQL implementation of hookd.Store. Its methods are safe
// for concurrent use.
type DB struct {
	*shared // the statements and rules both SQL stores share

	pool *sql.DB
	read pool // the same connections, for statements outside a transaction

	pub     publisher                  // the group commit of Publish, see publish.go
	handoff atomic.Pointer[handoffBox] // see SetHandoff

	// Now is the clock for timestamps the Store interface does not pass in
	// (created_at and updated_at of tenants, keys and webhooks). Tests may
	// replace it before use.
	Now func() time.Time
}

var (
	_ hookd.Store           = (*DB)(nil)
	_ hookd.ObservableStore = (*DB)(nil) // SetObserver: the embedded sqlstore.Store's
	// SetOperationalObserver: the embedded sqlstore.Store's
	_ hookd.OperationalEventStore = (*DB)(nil)
)

// shared names the embedded sqlstore.Store: an unexported field, whose
// methods DB promotes.
type shared = sqlstore.Store

// dialect is what PostgreSQL's SQL needs of the shared statements.
var dialect = sqlstore.Dialect{
	Contains: "strpos",
	// starts_with, not a substr() of a length: the prefix is compared as
	// text, whatever its characters.
	HasURLPrefix: func(p string) (string, []any) {
		return "starts_with(url_norm, ?)", []any{p}
	},
	// The index holds md5(url_norm): a normalised URL may be longer than
	// a B-tree entry may be (2,048 characters of path become up to three
	// times as many bytes when escaped).
	URLIs: func(u string) (string, []any) {
		return "md5(url_norm) = md5(?::text) AND url_norm = ?", []any{u, u}
	},
	Bigint:            "?::bigint",
	IsUniqueViolation: isUniqueViolation,
	Unavailable:       unavailable,
	ForUpdate:         " FOR UPDATE",
	SeqBlock:          seqBlock,
	LockRound:         lockRound,
}

// statsShards is how many shards of delivery_stats the stores draw theirs
// from; see sqlstore.Dialect.StatsShard.
const statsShards = 64

// seqSize is how many seqs one nextval of messages_seq gives (its
// INCREMENT BY, see migrations/0010).
const seqSize = 64

// seqBlock takes a block of message seqs; see sqlstore.Dialect.SeqBlock.
func seqBlock(ctx context.Context, tx sqlstore.Conn) (first, size int64, err error) {
	err = tx.QueryRowContext(ctx, "SELECT nextval('messages_seq')").Scan(&first)
	return first, seqSize, err
}

// errExclusive asks for a transaction to be run again under the exclusive
// write lock: it was about to write what only a transaction alone may.
var errExclusive = errors.New("postgres: this write needs the exclusive write lock")

// lockRound takes, in a transaction of Complete under the shared write
// lock, the locks of the groups its transitions release and of those its
// operational events are published to (see the package comment), and
// asks for the exclusive write lock when one suspends a webhook or its
// events announce the start or end of a failure streak (once per streak,
// not per delivery); see sqlstore.Dialect.LockRound.
func lockRound(ctx context.Context, c sqlstore.Conn, ts []hookd.Transition, evs []hookd.OperationalEvent) error {
	tx := c.(*wtx)
	if !tx.shared {
		return nil
	}
	var keys []lockKey
	for i := range ts {
		t := &ts[i]
		if t.Suspended {
			return errExclusive
		}
		if t.GroupReleased {
			keys = append(keys, groupLock(t.TenantID, t.GroupKey))
		}
	}
	for i := range evs {
		switch evs[i].Type {
		case hookd.EventWebhookFailing, hookd.EventWebhookRecovered:
			// The streak was read without a lock: another node may be
			// starting or ending it too, and each would announce it.
			// Alone, the round reads what the other committed.
			return errExclusive
		}
		// Published as Publish publishes: into a group (the webhook's),
		// whose order the lock keeps against other nodes' events.
		if g := evs[i].Input().Group; g != "" {
			keys = append(keys, groupLock(evs[i].TenantID, g))
		}
	}
	return tx.lock(ctx, keys)
}

// lockKey is the two keys of a group's or an idempotency key's advisory
// lock, 64 bits of a hash: PostgreSQL keeps locks of two keys apart from
// those of one, such as writeLock.
type lockKey struct{ a, b int32 }

func newLockKey(kind byte, tenantID, name string) lockKey {
	h := fnv.New64a()
	h.Write([]byte{kind})
	h.Write([]byte(tenantID))
	h.Write([]byte{0})
	h.Write([]byte(name))
	v := h.Sum64()
	return lockKey{int32(v >> 32), int32(v)}
}

// groupLock is the lock of the tenant's group: of its messages of every
// webhook (a message's group_key is its event's group name).
func groupLock(tenantID, group string) lockKey { return newLockKey('g', tenantID, group) }

// idempotencyLock is the lock of the tenant's idempotency key.
func idempotencyLock(tenantID, key string) lockKey { return newLockKey('k', tenantID, key) }

// lock takes the advisory locks of keys in the transaction, in their
// order (a, b): transactions that take several locks take them in one
// order, so none waits for another that waits for it.
func (t *wtx) lock(ctx context.Context, keys []lockKey) error {
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(x, y lockKey) int {
		if x.a != y.a {
			return compare(x.a, y.a)
		}
		return compare(x.b, y.b)
	})
	keys = slices.Compact(keys)
	as, bs := make([]int32, len(keys)), make([]int32, len(keys))
	for i, k := range keys {
		as[i], bs[i] = k.a, k.b
	}
	// unnest gives the rows in array order, and count() calls the lock
	// function once per row in that order. A write for the pipeline: the
	// locks must be held before the next statement runs, which they are
	// once this one has.
	if _, err := t.ExecContext(ctx, `SELECT count(pg_advisory_xact_lock(a, b))
		FROM unnest($1::int4[], $2::int4[]) AS k(a, b)`, as, bs); err != nil {
		return fmt.Errorf("take group and key locks: %w", err)
	}
	return nil
}

func compare(x, y int32) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// sharedTx is tx for the shared statements.
func (db *DB) sharedTx(ctx context.Context, fn func(tx sqlstore.Conn) error) error {
	return db.tx(ctx, func(tx *wtx) error { return fn(tx) })
}

// initShared gives the shared statements the store's reads and writes
// (Tx under the exclusive write lock, Lazy under the shared one) and its
// keys.
func (db *DB) initShared(o sqlstore.Options) {
	db.shared = &sqlstore.Store{
		Keyring:    o.Keys,
		StatsFlush: o.StatsFlush,
		Read:       db.read,
		Fixed:      db.read,
		Tx:         db.sharedTx,
		Lazy: func(ctx context.Context, fn func(tx sqlstore.Conn) error) error {
			return db.txLazy(ctx, func(tx *wtx) error { return fn(tx) })
		},
		Clock:   db.now,
		Dialect: dialect,
	}
}

// Open connects to the database at url (a postgres:// URL or key=value
// string as pgx reads it; a search_path parameter selects the schema) and
// applies every embedded migration not applied yet. Given keys
// (sqlstore.WithKeys), it seals the webhook secrets still in plain text,
// see sqlstore.Store.SealAtStart; every process sharing the database needs
// the same keys.
func Open(ctx context.Context, url string, opts ...sqlstore.Option) (*DB, error) {
	return open(ctx, url, math.MaxInt, opts...)
}

// open is Open applying only the migrations up to version: tests make
// databases of an older schema with it, to test the later migrations.
func open(ctx context.Context, url string, version int, opts ...sqlstore.Option) (*DB, error) {
	o := sqlstore.NewOptions(opts)
	p, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	p.SetMaxOpenConns(16)
	p.SetMaxIdleConns(16)
	p.SetConnMaxIdleTime(5 * time.Minute)
	if err := p.PingContext(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db := &DB{pool: p, read: pool{p}, Now: time.Now}
	db.initShared(o)
	// A shard of its own among the few nodes that share a database: two
	// nodes that drew the same one only queue for its rows.
	shard := rand.Int64N(statsShards)
	db.Dialect.StatsShard = func() int64 { return shard }
	if err := db.migrate(ctx, version); err != nil {
		p.Close()
		return nil, err
	}
	if o.Keys != nil {
		// A database that cannot take the write now opens all the same,
		// as it does without keys; the next start seals what this one
		// could not.
		if _, err := db.SealAtStart(ctx); err != nil && hookd.ErrorCode(err) != hookd.EUNAVAILABLE {
			p.Close()
			return nil, fmt.Errorf("open postgres: %w", err)
		}
	}
	db.pub.start(db)
	return db, nil
}

// Close commits the Publish calls queued, writes the delivery statistics
// that wait in memory, and closes the connections.
func (db *DB) Close() error {
	db.pub.Close()
	// The delivery statistics still in memory are written before the pool
	// closes.
	statsErr := db.FlushStats(context.Background())
	return errors.Join(statsErr, db.pool.Close())
}

// Ping checks that the database answers a query and, while writes fail
// for want of the database, that a write succeeds again (see
// sqlstore.Store.CheckWrites); EUNAVAILABLE saying why not.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.pool.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return db.Unavailable(fmt.Errorf("ping postgres: %w", err))
	}
	return db.CheckWrites(ctx)
}

func (db *DB) now() time.Time { return db.Now().UTC() }

// migrate applies migrations/NNNN_name.sql in order, up to upTo, each in
// its own transaction with its schema_version row, under the exclusive
// write lock: processes starting at once apply each migration exactly
// once.
func (db *DB) migrate(ctx context.Context, upTo int) error {
	// Under the write lock: two servers creating the table at once would
	// clash in PostgreSQL's catalog.
	err := db.tx(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("create schema_version: %w", err)
	}
	return sqlstore.Migrate(ctx, migrationFS, upTo, db.sharedTx, func(ctx context.Context, tx sqlstore.Conn, body string) error {
		_, err := tx.(*wtx).Tx.ExecContext(ctx, body) // many statements: not rebound
		return err
	})
}

// A transaction's mode: under the write lock exclusively or shared, and
// committed durably or lazily.
type txMode struct {
	shared, lazy bool
}

var (
	exclusive = txMode{}
	// engine is the delivery engine's bookkeeping: Complete, DeferMessage,
	// TouchAPIKey.
	engine = txMode{shared: true, lazy: true}
	// publishing is a group commit of Publish calls.
	publishing = txMode{shared: true}
)

// tx runs fn in a write transaction holding the write lock exclusively and
// commits when fn returns nil: every write of the store but the delivery
// engine's goes through it, and runs alone. The transaction is READ
// COMMITTED whatever the server's default: each statement then sees what
// the transactions before the lock committed, where a REPEATABLE READ or
// SERIALIZABLE snapshot would be the one taken when it began to wait for
// the lock.
func (db *DB) tx(ctx context.Context, fn func(tx *wtx) error) error {
	return db.write(ctx, exclusive, fn)
}

// txLazy runs fn in a write transaction in mode engine: holding the write
// lock shared, so that the delivery engines of several nodes write at
// once, and committed without waiting for the commit record to reach the
// disk (synchronous_commit = off for this transaction), as the SQLite
// store commits the same transactions with synchronous=NORMAL. A crash of
// the server may lose the last lazy commits (PostgreSQL writes them
// within three wal_writer_delay, and any later durable commit writes them
// first), never corrupts.
//
// Only the delivery engine's own bookkeeping uses it, where a lost commit
// costs at most a redelivery, which at-least-once delivery allows: a lost
// Claim leaves the message due; a lost Complete or DeferMessage leaves
// the message leased, so it is attempted again when its lease ends (its
// attempt record is lost with it); a lost TouchAPIKey forgets a time.
func (db *DB) txLazy(ctx context.Context, fn func(tx *wtx) error) error {
	return db.write(ctx, engine, fn)
}

// write runs fn in a transaction of mode m (see runTx). Its outcome goes
// to Wrote: a write failing for want of the database (its disk full, the
// server gone) is EUNAVAILABLE and makes Ping report writes failing until
// one succeeds.
func (db *DB) write(ctx context.Context, m txMode, fn func(tx *wtx) error) error {
	return db.Wrote(db.runTx(ctx, m, fn))
}

// maxDeadlocks is how often a transaction of the delivery engine is run
// again after PostgreSQL broke a deadlock by failing it. Such transactions
// lock their message rows in seq order and their groups in one order
// after them, so a deadlock needs an unusual meeting (a stale outcome of
// a group's next message while that group is released); Publish waits
// for no row and takes all its locks at once.
const maxDeadlocks = 3

// runTx runs fn in a transaction of mode m and commits when fn returns
// nil; a transaction of the engine that PostgreSQL fails to break a
// deadlock is run again (fn must start afresh each time).
func (db *DB) runTx(ctx context.Context, m txMode, fn func(tx *wtx) error) error {
	run := db.runTxOnce
	if m.shared {
		run = db.runPipelined
	}
	for try := 0; ; try++ {
		err := run(ctx, m, fn)
		if m != engine || try == maxDeadlocks || !isDeadlock(err) {
			return err
		}
	}
}

func (db *DB) runTxOnce(ctx context.Context, m txMode, fn func(tx *wtx) error) error {
	t, err := db.pool.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	if _, err := t.ExecContext(ctx, "SELECT "+lockCall(m, "$1"), int64(writeLock)); err != nil {
		t.Rollback()
		return fmt.Errorf("take the write lock: %w", err)
	}
	if err := fn(&wtx{Tx: t, shared: m.shared}); err != nil {
		t.Rollback()
		return err
	}
	return t.Commit()
}

// lockCall is what takes the write lock of key in mode m, and, for a lazy
// transaction, turns off synchronous_commit for it, in the same round trip.
func lockCall(m txMode, key string) string {
	lock := "pg_advisory_xact_lock(" + key + ")"
	if m.shared {
		lock = "pg_advisory_xact_lock_shared(" + key + ")"
	}
	if m.lazy {
		lock = "set_config('synchronous_commit', 'off', true), " + lock
	}
	return lock
}

// isDeadlock reports whether err is PostgreSQL's deadlock_detected.
func isDeadlock(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "40P01"
}

// wtx is a write transaction whose statements are written with '?'
// placeholders, as the SQLite store's are (see rebind): a database/sql Tx,
// or a pipelined transaction (p, see pipeline.go).
type wtx struct {
	*sql.Tx
	p      *pipe
	shared bool // under the shared write lock: other writers run meanwhile
}

func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t.p != nil {
		t.p.queue(query, args)
		return queuedResult{}, nil
	}
	return t.Tx.ExecContext(ctx, rebind(query), pgArgs(args)...)
}

// QueryContext runs a read; in a pipeline, after the writes queued. When
// sending them failed, the read fails too (the transaction is aborted),
// and the pipeline reports the first error.
func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if t.p != nil {
		_ = t.p.send(ctx, "")
		return t.p.conn.QueryContext(ctx, rebind(query), pgArgs(args)...)
	}
	return t.Tx.QueryContext(ctx, rebind(query), pgArgs(args)...)
}

// QueryRowContext is QueryContext for one row.
func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if t.p != nil {
		_ = t.p.send(ctx, "")
		return t.p.conn.QueryRowContext(ctx, rebind(query), pgArgs(args)...)
	}
	return t.Tx.QueryRowContext(ctx, rebind(query), pgArgs(args)...)
}

// pool runs statements with '?' placeholders outside a transaction.
type pool struct{ *sql.DB }

func (p pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.DB.ExecContext(ctx, rebind(query), pgArgs(args)...)
}

func (p pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.DB.QueryContext(ctx, rebind(query), pgArgs(args)...)
}

func (p pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.DB.QueryRowContext(ctx, rebind(query), pgArgs(args)...)
}

var rebound sync.Map // query text → its rebound text

// rebind turns the '?' placeholders of query into $1, $2, … and ?NNN into
// $NNN ('?' inside a quoted literal stays). Texts are cached: the store has a bounded set.
func rebind(query string) string {
	if v, ok := rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n, quoted := 0, false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			b.WriteByte('$')
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			if j > i+1 { // ?NNN: a numbered parameter
				b.WriteString(query[i+1 : j])
				i = j - 1
				continue
			}
			n++
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	out := b.String()
	rebound.Store(query, out)
	return out
}

// pgArgs stores booleans as the integers the schema keeps them in (as the
// SQLite store does).
func pgArgs(args []any) []any {
	for i, a := range args {
		if b, ok := a.(bool); ok {
			args[i] = sqlstore.BoolInt(b)
		}
	}
	return args
}

// isUniqueViolation reports whether err is a unique constraint failure.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// unavailable says why err means that the database cannot serve a call
// now, "" for any other error: PostgreSQL's insufficient resources (class
// 53: 53100 disk_full, out of memory or connections), operator
// intervention (57P01 admin_shutdown and the like: a server stopping or
// starting), connection exceptions (class 08), a read-only server (25006,
// a standby after a failover), system errors (class 58: I/O); and a
// server that cannot be reached or whose connection broke.
func unavailable(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "53100":
			return "the database's disk is full"
		case strings.HasPrefix(pe.Code, "53"):
			return "the database is out of resources"
		case pe.Code == "57P03":
			return "the database is starting up"
		case strings.HasPrefix(pe.Code, "57P"):
			return "the database is shutting down"
		case strings.HasPrefix(pe.Code, "08"):
			return "the connection to the database failed"
		case pe.Code == "25006":
			return "the database is read-only"
		case strings.HasPrefix(pe.Code, "58"):
			return "the database cannot read or write its files"
		}
		return ""
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce):
		return "the database is unreachable"
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &ne):
		return "the connection to the database failed"
	}
	return ""
}
