// Package sqlstore is the part of hookd's SQL stores (sqlite, postgres)
// that is the same in both: their statements, written once in SQL both
// dialects run (with '?' placeholders, which the postgres store rebinds to
// $N). The rules of a message's life (group order, holds, suspension,
// manual actions) are the domain's (hookd's transition.go): this package
// loads the rows a rule reads, calls it, and writes the Transition it
// returns (see move.go). A store gives it a Store with its ways to read
// and to write (a transaction is the store's own: SQLite's single writer
// connection, PostgreSQL's advisory lock) and a Dialect for the few
// fragments that differ, and keeps what only it does: opening and migrating its
// database, its group commit, and Claim, NextDue, ReleaseLeases,
// DeferMessage and Complete, whose transactions differ (the SQLite store
// parks and hands off fresh messages).
package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/seal"
)

// Queryer is what the read helpers need: a store's read pool or a write
// transaction.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Conn is a write transaction of a store, running statements written with
// '?' placeholders.
type Conn interface {
	Queryer
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Store implements the methods of hookd.Store that both SQL stores share,
// on the reads and writes a store gives it. A store embeds it and adds the
// rest. Its fields are set once, before use.
type Store struct {
	// Read runs reads outside a transaction; Fixed runs those of a fixed
	// text (the SQLite store prepares them once per process).
	Read, Fixed Queryer

	// Tx runs fn in a durable write transaction and commits when fn
	// returns nil. Lazy is Tx committed without waiting for the disk
	// (SQLite: synchronous=NORMAL; PostgreSQL: synchronous_commit off): a
	// crash may lose the last such commits, never corrupt. Only the
	// delivery engine's bookkeeping uses Lazy (DeferMessage, TouchAPIKey,
	// aborting orphans).
	//
	// A Tx runs alone, as if no other write ran (SQLite's single writer;
	// PostgreSQL's write lock). A Lazy transaction may run at the same time
	// as other Lazy ones and as Claim, Complete and Publish (PostgreSQL
	// nodes write at once, see the postgres package): a read that decides
	// a Lazy write must lock what it read (Dialect.ForUpdate), and its
	// write must hold whatever another writer may have changed meanwhile.
	Tx, Lazy func(ctx context.Context, fn func(tx Conn) error) error

	// Clock returns the time, in UTC, for timestamps the Store interface
	// does not pass in (created_at and updated_at of tenants, keys and
	// webhooks).
	Clock func() time.Time

	Dialect Dialect

	// Keyring seals and opens the webhooks' secret columns; nil keeps
	// them plain (see Options.Keys).
	Keyring *seal.Keyring

	// StatsFlush is the longest delivery statistics wait in memory
	// (Options.StatsFlush; 0: StatsFlushInterval).
	StatsFlush time.Duration

	keys   keyCache    // FindAPIKey's answers, see tenant.go
	health writeHealth // whether writes fail for want of the database, see unavailable.go
	stats  statsBuffer // delivery statistics not yet written, see statsbuffer.go

	observer    atomic.Pointer[func([]hookd.Transition)] // see SetObserver
	opsObserver operationalObserver                      // see SetOperationalObserver
}

// SetObserver sets the function told of committed transitions (nil: none);
// see hookd.ObservableStore.
func (s *Store) SetObserver(fn func([]hookd.Transition)) {
	if fn == nil {
		s.observer.Store(nil)
		return
	}
	s.observer.Store(&fn)
}

// Notify tells the observer of transitions just committed; a store calls
// it after the commit of a call whose transitions it applied itself
// (Complete).
func (s *Store) Notify(ts []hookd.Transition) {
	if fn := s.observer.Load(); fn != nil && len(ts) > 0 {
		(*fn)(ts)
	}
}

// Dialect holds the few SQL fragments that differ between the stores, and
// nothing else: the statements that use them take it as an argument.
type Dialect struct {
	// Contains is the function that finds a string in another, position
	// from 1 or 0 for none: "instr" (SQLite) or "strpos" (PostgreSQL).
	Contains string

	// HasURLPrefix returns the condition that url_norm starts with the
	// (normalized) prefix p, and its arguments; the prefix is compared
	// character by character.
	HasURLPrefix func(p string) (string, []any)

	// URLIs returns the condition that url_norm equals the (normalized)
	// URL u, and its arguments, written so that the store's index on
	// url_norm serves it.
	URLIs func(u string) (string, []any)

	// Bigint is a parameter whose type the statement does not tell: "?"
	// (SQLite) or "?::bigint" (PostgreSQL types a VALUES list by its
	// values, and a parameter alone is text).
	Bigint string

	// InlineLimit writes Claim's LIMIT into its statement instead of
	// binding it: SQLite re-prepares a statement whenever a bound LIMIT of
	// its subquery changes value, which cost a third of Claim's time under
	// load.
	InlineLimit bool

	// IsUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
	// constraint failure.
	IsUniqueViolation func(err error) bool

	// Unavailable says, in words a client may read, why err means that the
	// database cannot serve a call now ("the database's disk is full",
	// "the database is unreachable"), or "" when err means something else.
	// See Store.Unavailable.
	Unavailable func(err error) string

	// ForUpdate follows a read whose rows the transaction then writes as
	// the read decided: " FOR UPDATE" on PostgreSQL, whose writers run at
	// once, so that no other one changes the rows in between; "" on
	// SQLite, whose single writer has nobody to lock out.
	ForUpdate string

	// SeqBlock, when set, gives out message seqs (the order of a group's
	// messages) in blocks from the database: first is the block's first
	// number, size how many follow it, numbers no other transaction gets.
	// PostgreSQL sets it (a sequence: transactions of several nodes insert
	// messages at once); without it a transaction numbers its messages
	// from max(seq) + 1, which only a single writer may.
	SeqBlock func(ctx context.Context, tx Conn) (first, size int64, err error)

	// LockRound, when set, is called by Complete in its transaction with
	// the transitions of a round of outcomes, decided and not yet written,
	// and the operational events they cause, to be published in the same
	// transaction, to take the locks their writes need that the rows read
	// did not give (PostgreSQL: the groups a transition releases and the
	// groups the events go to, which a concurrent Publish may be adding
	// to). An error rolls the transaction back; a store may so ask to
	// apply the outcomes again another way.
	LockRound func(ctx context.Context, tx Conn, ts []hookd.Transition, evs []hookd.OperationalEvent) error

	// StatsShard, when set, is the shard of the delivery_stats rows that
	// Complete adds to (the table then has a shard column, which readers
	// sum over): on PostgreSQL each store (node) has its own, so that the
	// Complete calls of several nodes do not queue for one row per webhook
	// and 5 minutes, which each would hold until its commit.
	StatsShard func() int64
}

func (s *Store) now() time.Time { return s.Clock() }

// Time columns are unix milliseconds.

// MS returns t as stored.
func MS(t time.Time) int64 { return t.UnixMilli() }

func msPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

// FromMS returns the time of a stored value.
func FromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := FromMS(v.Int64)
	return &t
}

// BoolInt returns b as the integer the schema keeps booleans in.
func BoolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// pageLimit is the default page size of the Store's lists.
const pageLimit = 50

func limitOf(p hookd.Page) int {
	if p.Limit <= 0 {
		return pageLimit
	}
	return p.Limit
}

// Placeholders returns "?, ?, …" for n arguments.
func Placeholders(n int) string {
	if n == 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// Exec runs one write statement in a durable write transaction of its
// own. (On SQLite's writer connection a statement without BEGIN would
// commit at whatever synchronous level the last transaction left: NORMAL
// after the delivery engine's, so a created tenant or a rotated secret
// could be lost in a crash after its answer.)
func (s *Store) Exec(ctx context.Context, query string, args ...any) (res sql.Result, err error) {
	err = s.Tx(ctx, func(tx Conn) error {
		res, err = tx.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}
