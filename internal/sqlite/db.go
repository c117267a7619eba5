// Package sqlite is hookd's embedded Store: one SQLite database file in WAL
// mode with synchronous=FULL (NORMAL for the delivery engine's Claim,
// Complete and DeferMessage, see syncNormal), written by one connection (so
// every write is a short BEGIN IMMEDIATE transaction and ids sort in commit
// order) and read through a separate pool that never waits for the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlstore"
	sqlitedrv "modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is the SQLite implementation of hookd.Store. Its methods are safe for
// concurrent use.
type DB struct {
	*shared // the statements and rules both SQL stores share

	write *sql.DB // one connection: SQLite has one writer anyway
	read  *sql.DB // read-only pool; WAL readers do not block on the writer

	mu    sync.Mutex
	stmts map[string]*sql.Stmt // prepared on write, see wtx

	rmu    sync.Mutex
	rstmts map[string]*sql.Stmt // prepared on read, see readRow

	// sync is the writer connection's synchronous level; read and written
	// only while holding that connection (see txSync).
	sync syncLevel

	// The group commit of Publish, see publish.go.
	pub sqlstore.Queue[*publishCall]
	// received counts the calls the writer took off pub's queue, so that
	// a test can line calls up behind one it knows the writer holds.
	received atomic.Int64
	handoff  atomic.Pointer[handoffBox]

	// Parking of claimable messages, see fresh.go. seqTop is the largest
	// message seq Publish gave out and committed; only the writer
	// goroutine uses it.
	parkToken int64
	fresh     freshQueue
	seqTop    int64
	onRound   func(level syncLevel, calls []*publishCall) // tests: sees each round once it ran

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

// dialect is what SQLite's SQL needs of the shared statements.
var dialect = sqlstore.Dialect{
	Contains: "instr",
	// substr and length both count characters of a text.
	HasURLPrefix: func(p string) (string, []any) {
		return "substr(url_norm, 1, length(?)) = ?", []any{p, p}
	},
	URLIs: func(u string) (string, []any) {
		return "url_norm = ?", []any{u}
	},
	Bigint:            "?",
	InlineLimit:       true,
	IsUniqueViolation: isUniqueViolation,
	Unavailable:       unavailable,
}

// sharedTx is tx for the shared statements.
func (db *DB) sharedTx(ctx context.Context, fn func(tx sqlstore.Conn) error) error {
	return db.tx(ctx, func(tx *wtx) error { return fn(tx) })
}

// initShared gives the shared statements the store's reads and writes,
// and its keys.
func (db *DB) initShared(o sqlstore.Options) {
	db.shared = &sqlstore.Store{
		Keyring:    o.Keys,
		StatsFlush: o.StatsFlush,
		Read:       db.read,
		Fixed:      prepared{db},
		Tx:         db.sharedTx,
		Lazy: func(ctx context.Context, fn func(tx sqlstore.Conn) error) error {
			return db.txSync(ctx, syncNormal, func(tx *wtx) error { return fn(tx) })
		},
		Clock:   db.now,
		Dialect: dialect,
	}
}

// busyTimeoutMS bounds how long a statement waits for a lock held by another
// process (or, for a reader, a checkpoint) before failing with SQLITE_BUSY.
const busyTimeoutMS = 10000

// Open opens or creates the database file at path (its directory must
// exist) and applies every embedded migration that has not been applied
// yet. The file and SQLite's -wal and -shm files beside it are made
// readable by the owner alone (0600). Given keys (sqlstore.WithKeys), it
// seals the webhook secrets still in plain text, see
// sqlstore.Store.SealAtStart.
func Open(ctx context.Context, path string, opts ...sqlstore.Option) (*DB, error) {
	return open(ctx, path, math.MaxInt, sqlstore.NewOptions(opts))
}

// open is Open applying only the migrations up to version: tests make
// databases of an older schema with it, to test the later migrations.
func open(ctx context.Context, path string, version int, o sqlstore.Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	if err := makePrivate(path); err != nil {
		return nil, err
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	common := "_pragma=busy_timeout(" + strconv.Itoa(busyTimeoutMS) + ")&_pragma=foreign_keys(1)"
	// secure_delete FAST: what a write frees within a page it writes
	// anyway is zeroed, so that old values (a webhook's secrets sealed
	// before a rotation, an event's payload) do not linger in the file's
	// free space; it costs CPU, no extra I/O (whole pages freed keep their
	// old content until reused: see scrubbed).
	wdsn := base + "?" + common + "&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)" +
		"&_pragma=secure_delete(FAST)&_txlock=immediate"
	w, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite writer %s: %w", path, err)
	}
	if err := persistWAL(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite writer %s: %w", path, err)
	}
	db := &DB{write: w, Now: time.Now, stmts: map[string]*sql.Stmt{}, rstmts: map[string]*sql.Stmt{}}
	db.initShared(o) // its Read is set below, once the reader is open
	if err := db.migrate(ctx, version); err != nil {
		w.Close()
		return nil, err
	}
	// The reader is opened after the writer switched the file to WAL.
	r, err := sql.Open("sqlite", base+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite reader: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open sqlite reader %s: %w", path, err)
	}
	db.read, db.shared.Read = r, r
	// Parked rows of an earlier process are not this one's to read (their
	// token differs; ReleaseLeases makes them due): reading starts after
	// the rows there are now.
	top, err := sqlstore.MaxSeq(ctx, w)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db.parkToken, db.fresh.cursor, db.fresh.hi, db.seqTop = sqlstore.NewLease(), top, top, top
	if o.Keys != nil && version == math.MaxInt {
		// A store that cannot write now (a full disk) opens all the same,
		// as it does without keys: it serves reads, and the next start
		// seals what this one could not.
		_, err := db.scrubbed(ctx, func() (int, error) { return db.SealAtStart(ctx) })
		if err != nil && hookd.ErrorCode(err) != hookd.EUNAVAILABLE {
			w.Close()
			r.Close()
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
	}
	db.pub.Start(maxBatchCalls, db.publishLoop)
	return db, nil
}

// persistWAL makes the writer connection, the last to close, leave the
// WAL file and its shared-memory index in place when it closes
// (SQLITE_FCNTL_PERSIST_WAL), instead of deleting them. The next process
// then finds them, already allocated: on a full disk, creating the 32 KiB
// index fails (SQLITE_IOERR_SHMSIZE), and a store that cannot open cannot
// even serve reads. The WAL keeps its size, as it does while the store
// runs; after a clean close its frames are all checkpointed, and hold
// nothing the database file does not.
func persistWAL(ctx context.Context, w *sql.DB) error {
	c, err := w.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		fc, ok := dc.(sqlitedrv.FileControl)
		if !ok {
			return errors.New("persist the WAL: the driver has no file control")
		}
		if _, err := fc.FileControlPersistWAL("main", 1); err != nil {
			return fmt.Errorf("persist the WAL: %w", err)
		}
		return nil
	})
}

// Rekey rewrites every webhook secret under the current key (see
// sqlstore.Store.Rekey) and then scrubs the values it replaced from the
// database's free space and its WAL (see scrubbed).
func (db *DB) Rekey(ctx context.Context, batch int) (int, error) {
	return db.scrubbed(ctx, func() (int, error) { return db.shared.Rekey(ctx, batch) })
}

// scrubbed runs fn, a pass that rewrites webhook secrets, with SQLite's
// secure_delete fully on, so that the values it replaces (plain text, or a
// previous key's ciphertext, which a leak of that key would open) are
// overwritten with zeros, in whole freed pages too; when fn rewrote any,
// it then checkpoints the WAL, which holds the old pages as well, and
// truncates it (unless a reader of another process holds it). Fully on
// costs a write of every freed page, which hookd's other writes, deleting
// and rewriting many message rows, need not pay: FAST (see Open) is the
// writer's setting otherwise.
func (db *DB) scrubbed(ctx context.Context, fn func() (int, error)) (int, error) {
	if _, err := db.write.ExecContext(ctx, "PRAGMA secure_delete = ON"); err != nil {
		return 0, fmt.Errorf("scrub secrets: %w", err)
	}
	n, err := fn()
	if _, serr := db.write.ExecContext(context.WithoutCancel(ctx), "PRAGMA secure_delete = FAST"); err == nil && serr != nil {
		return n, fmt.Errorf("scrub secrets: %w", serr)
	}
	if err != nil || n == 0 {
		return n, err
	}
	if _, err := db.write.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return n, fmt.Errorf("scrub secrets from the WAL: %w", err)
	}
	return n, nil
}

// makePrivate creates the database file, empty, readable by its owner
// alone, and takes group and other permissions away from an existing one
// and its -wal and -shm files (earlier versions left them 0644): they hold
// every event's payload. SQLite creates the -wal and -shm files with the
// database file's permissions.
func makePrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return fmt.Errorf("open sqlite: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("make %s readable by its owner alone: %w", p, err)
			}
		}
	}
	return nil
}

// Close commits the Publish calls already queued, writes the delivery
// statistics that wait in memory, then closes both pools.
// A later call fails.
func (db *DB) Close() error {
	db.pub.Close()
	// The delivery statistics still in memory are written before the
	// pools close.
	statsErr := db.FlushStats(context.Background())
	db.mu.Lock()
	errs := make([]error, 0, len(db.stmts)+2)
	for q, s := range db.stmts {
		errs = append(errs, s.Close())
		delete(db.stmts, q)
	}
	db.mu.Unlock()
	db.rmu.Lock()
	for q, s := range db.rstmts {
		errs = append(errs, s.Close())
		delete(db.rstmts, q)
	}
	db.rmu.Unlock()
	return errors.Join(append(errs, statsErr, db.read.Close(), db.write.Close())...)
}

// Ping checks that the database answers a query and, while writes fail
// for want of the database (a full disk), that a write succeeds again (see
// sqlstore.Store.CheckWrites); EUNAVAILABLE saying why not.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return db.Unavailable(fmt.Errorf("ping sqlite: %w", err))
	}
	return db.CheckWrites(ctx)
}

func (db *DB) now() time.Time { return db.Now().UTC() }

// migrate applies migrations/NNNN_name.sql in order, up to upTo, each in
// its own transaction together with its schema_version row (see
// sqlstore.Migrate). BEGIN IMMEDIATE makes two processes starting at once
// apply each migration exactly once.
func (db *DB) migrate(ctx context.Context, upTo int) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_version: %w", err)
	}
	return sqlstore.Migrate(ctx, migrationFS, upTo, db.sharedTx, func(ctx context.Context, tx sqlstore.Conn, body string) error {
		_, err := tx.(*wtx).Tx.ExecContext(ctx, body) // many statements: not prepared
		return err
	})
}

// syncLevel is a value of PRAGMA synchronous for one write transaction.
type syncLevel int8

const (
	// syncFull makes the commit wait for an fsync of the WAL: what the API
	// promises (an event is on disk before its 202, a webhook change before
	// its 200). Every transaction is FULL unless it says otherwise.
	syncFull syncLevel = iota
	// syncNormal commits without an fsync (the WAL is synced at the next
	// checkpoint). A crash may lose the last such commits, but never
	// corrupts the database, and the next FULL commit (any Publish or API
	// write) fsyncs the whole WAL file, earlier NORMAL frames included.
	//
	// Only the delivery engine's own bookkeeping uses it, where a lost
	// commit costs at most a redelivery, which at-least-once delivery
	// allows: a lost Claim leaves the message due (and ReleaseLeases at
	// start-up makes every leased message due anyway); a lost Complete or
	// DeferMessage leaves the message leased, so it is attempted again when
	// its lease ends (its attempt record is lost with it). It saves one
	// fsync (about 1 ms here) per Claim and per Complete, which used to be
	// two of every three fsyncs under load.
	syncNormal
)

// tx runs fn in a write transaction (BEGIN IMMEDIATE on the single writer
// connection) with synchronous=FULL and commits when fn returns nil.
func (db *DB) tx(ctx context.Context, fn func(tx *wtx) error) error {
	return db.txSync(ctx, syncFull, fn)
}

// txSync is tx with the given synchronous level. SQLite refuses to change
// the level inside a transaction, so it is set just before BEGIN, on the
// writer connection held for the whole transaction (no other transaction
// can slip in between). db.sync remembers the connection's level so that
// the PRAGMA runs only when the level changes; should the pool ever replace
// the connection, the new one starts FULL (see Open), so a stale db.sync
// can only make a NORMAL transaction FULL, never the other way round.
func (db *DB) txSync(ctx context.Context, level syncLevel, fn func(tx *wtx) error) error {
	c, err := db.write.Conn(ctx)
	if err != nil {
		return db.Wrote(err)
	}
	w := &wtx{db: db}
	defer w.cacheMissed(ctx) // after c.Close: it prepares on the pool
	defer c.Close()
	if db.sync != level {
		q := "PRAGMA synchronous = FULL"
		if level == syncNormal {
			q = "PRAGMA synchronous = NORMAL"
		}
		if _, err := c.ExecContext(ctx, q); err != nil {
			db.sync = -1 // unknown: set it again next time
			return db.Wrote(fmt.Errorf("set synchronous level: %w", err))
		}
		db.sync = level
	}
	t, err := c.BeginTx(ctx, nil)
	if err != nil {
		return db.Wrote(err)
	}
	w.Tx = t
	if err := fn(w); err != nil {
		// After SQLITE_FULL or SQLITE_IOERR SQLite may have rolled the
		// transaction back already; the ROLLBACK then fails, harmlessly.
		t.Rollback()
		return db.Wrote(err)
	}
	return db.Wrote(t.Commit())
}

// wtx is a write transaction whose statements are prepared once per
// process (parsing SQL costs more than running most of ours): the writer
// has one connection, so a statement prepared on the pool stays prepared on
// it. A statement not cached yet is prepared in the transaction and cached
// after it, when the connection is free again (preparing on the pool while
// the transaction holds its only connection would wait forever).
type wtx struct {
	*sql.Tx
	db    *DB
	local map[string]*sql.Stmt // prepared in this transaction
}

// maxCachedStmts bounds the cache; statements with a variable number of
// placeholders beyond it are prepared each time.
const maxCachedStmts = 200

func (t *wtx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	t.db.mu.Lock()
	s, ok := t.db.stmts[query]
	t.db.mu.Unlock()
	if ok {
		return t.Tx.StmtContext(ctx, s), nil
	}
	if s, ok := t.local[query]; ok {
		return s, nil
	}
	s, err := t.Tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if t.local == nil {
		t.local = map[string]*sql.Stmt{}
	}
	t.local[query] = s
	return s, nil
}

// cacheMissed prepares the statements the transaction had to prepare for
// itself on the pool, for the next transactions.
func (t *wtx) cacheMissed(ctx context.Context) {
	for query := range t.local {
		t.db.mu.Lock()
		_, ok := t.db.stmts[query]
		full := len(t.db.stmts) >= maxCachedStmts
		t.db.mu.Unlock()
		if ok || full {
			continue
		}
		s, err := t.db.write.PrepareContext(ctx, query)
		if err != nil {
			continue // prepared again next time
		}
		t.db.mu.Lock()
		if _, ok := t.db.stmts[query]; ok {
			s.Close()
		} else {
			t.db.stmts[query] = s
		}
		t.db.mu.Unlock()
	}
}

// ExecContext runs query as a cached prepared statement.
func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// QueryContext runs query as a cached prepared statement.
func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// QueryRowContext runs query as a cached prepared statement.
func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := t.stmt(ctx, query)
	if err != nil {
		return t.Tx.QueryRowContext(ctx, query, args...) // reports the same error
	}
	return s.QueryRowContext(ctx, args...)
}

// readRow runs query on the read pool as a statement prepared once per
// process (and by database/sql once per pool connection): parsing the SQL
// of a point lookup costs more than running it, and the API runs some
// (a tenant by id, for the root token) on every request. Only for queries
// of fixed text; the cache is not bounded.
func (db *DB) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := db.readStmt(ctx, query)
	if err != nil {
		return db.read.QueryRowContext(ctx, query, args...) // reports the same error
	}
	return s.QueryRowContext(ctx, args...)
}

// readStmt returns query prepared on the read pool, once per process.
func (db *DB) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	db.rmu.Lock()
	s, ok := db.rstmts[query]
	db.rmu.Unlock()
	if ok {
		return s, nil
	}
	s, err := db.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	db.rmu.Lock()
	if old, ok := db.rstmts[query]; ok {
		s.Close()
		s = old
	} else {
		db.rstmts[query] = s
	}
	db.rmu.Unlock()
	return s, nil
}

// prepared is the read pool as a queryer whose statements are prepared once
// (see readRow), for queries of a fixed set of texts, such as queryIn's.
type prepared struct{ db *DB }

func (p prepared) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := p.db.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (p prepared) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.db.readRow(ctx, query, args...)
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
// constraint failure.
func isUniqueViolation(err error) bool {
	var se *sqlitedrv.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// unavailable says why err means that the database cannot serve a call
// now: its disk is full (SQLITE_FULL, what a write gets on ENOSPC), its
// files cannot be read, written or opened, or another process held the
// lock beyond the busy timeout; "" for any other error.
func unavailable(err error) string {
	var se *sqlitedrv.Error
	if !errors.As(err, &se) {
		return ""
	}
	switch se.Code() & 0xff { // the primary result code
	case sqlite3.SQLITE_FULL:
		return "the database's disk is full"
	case sqlite3.SQLITE_IOERR:
		return "the database cannot read or write its files"
	case sqlite3.SQLITE_CANTOPEN:
		return "the database cannot open its files"
	case sqlite3.SQLITE_READONLY:
		return "the database is read-only"
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return "the database is busy"
	}
	return ""
}
