// Package postgres is hookd's Store on PostgreSQL, for operators who run
// several hookd processes against one database or outgrow one machine's
// disk. It keeps the SQLite store's schema and rules (the same storetest
// suite checks both) with one difference in how writes are ordered: every
// write runs in a transaction that first takes one transaction-level
// advisory lock (see tx), so writes are serial across all processes, as
// the SQLite store's single writer makes them. The store's rules (group
// order, lease tokens, ids that sort in commit order) rest on that; reads
// never wait for it. The lock is the database's: stores in several schemas
// of one database share it.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// writeLock is the key of the advisory lock every write transaction takes.
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
}

// sharedTx is tx for the shared statements.
func (db *DB) sharedTx(ctx context.Context, fn func(tx sqlstore.Conn) error) error {
	return db.tx(ctx, func(tx *wtx) error { return fn(tx) })
}

// initShared gives the shared statements the store's reads and writes
// (every write in a transaction under the write lock) and its keys.
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
// its own transaction with its schema_version row, under the write lock:
// processes starting at once apply each migration exactly once.
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

// tx runs fn in a write transaction holding the write lock and commits when
// fn returns nil. Every write of the store goes through it (or txLazy). The
// transaction is READ COMMITTED whatever the server's default: each
// statement then sees what the transactions before the lock committed,
// where a REPEATABLE READ or SERIALIZABLE snapshot would be the one taken
// when it began to wait for the lock.
func (db *DB) tx(ctx context.Context, fn func(tx *wtx) error) error {
	return db.txDurable(ctx, true, fn)
}

// txLazy is tx committed without waiting for the commit record to reach
// the disk (synchronous_commit = off for this transaction), as the SQLite
// store commits the same transactions with synchronous=NORMAL. The lock is
// held until the commit returns, so a durable commit holds it for a disk
// flush; a lazy one does not. A crash of the server may lose the last
// lazy commits (PostgreSQL writes them within three wal_writer_delay,
// and any later durable commit writes them first), never corrupts.
//
// Only the delivery engine's own bookkeeping uses it, where a lost commit
// costs at most a redelivery, which at-least-once delivery allows: a lost
// Claim leaves the message due; a lost Complete or DeferMessage leaves
// the message leased, so it is attempted again when its lease ends (its
// attempt record is lost with it); a lost TouchAPIKey forgets a time.
func (db *DB) txLazy(ctx context.Context, fn func(tx *wtx) error) error {
	return db.txDurable(ctx, false, fn)
}

// txDurable is tx or txLazy. Its outcome goes to Wrote: a write failing
// for want of the database (its disk full, the server gone) is
// EUNAVAILABLE and makes Ping report writes failing until one succeeds.
func (db *DB) txDurable(ctx context.Context, durable bool, fn func(tx *wtx) error) error {
	return db.Wrote(db.runTx(ctx, durable, fn))
}

func (db *DB) runTx(ctx context.Context, durable bool, fn func(tx *wtx) error) error {
	t, err := db.pool.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	lock := "SELECT pg_advisory_xact_lock($1)"
	if !durable { // in the same round trip
		lock = "SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock($1)"
	}
	if _, err := t.ExecContext(ctx, lock, int64(writeLock)); err != nil {
		t.Rollback()
		return fmt.Errorf("take the write lock: %w", err)
	}
	if err := fn(&wtx{Tx: t}); err != nil {
		t.Rollback()
		return err
	}
	return t.Commit()
}

// wtx is a write transaction whose statements are written with '?'
// placeholders, as the SQLite store's are (see rebind).
type wtx struct {
	*sql.Tx
}

func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, rebind(query), pgArgs(args)...)
}

func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, rebind(query), pgArgs(args)...)
}

func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
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
