package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Pipelined transactions. Every statement is a round trip over the network,
// which costs both processes their system calls and a wake-up on a busy
// machine; the delivery engine's transactions (Complete, DeferMessages)
// and Publish's group commits are mostly writes that no later statement
// of theirs reads back. So these run on a connection of their own without
// database/sql's Tx:
//
//   - BEGIN and the write lock (with set_config for a lazy commit) go in
//     one round trip;
//   - a write (ExecContext) is queued and returns at once, with no result
//     to read (RowsAffected fails);
//   - a read sends the queued writes first, in one round trip, then runs;
//   - the COMMIT goes with the writes still queued.
//
// Queued statements are sent as one multi-statement query of the simple
// protocol, their arguments written into the text by pgx (as literals of
// unknown type, which PostgreSQL types by where they stand, as it types
// parameters). PostgreSQL runs them one after the other, each seeing the
// ones before, and stops at the first error, which fails the transaction.
// A Complete of 20 outcomes was some ten round trips, is now five.

// pipe is the queue of a pipelined transaction's writes.
type pipe struct {
	conn  *sql.Conn
	stmts []string
	args  []any
	err   error // the first failed send; the transaction is then aborted
}

// errQueued is the answer of a queued write's RowsAffected: its outcome is
// known only when the queue is sent.
var errQueued = errors.New("postgres: a queued write has no result yet")

type queuedResult struct{}

func (queuedResult) LastInsertId() (int64, error) { return 0, errQueued }
func (queuedResult) RowsAffected() (int64, error) { return 0, errQueued }

// queue adds a statement written with '?' placeholders.
func (p *pipe) queue(query string, args []any) {
	p.stmts = append(p.stmts, renumber(rebind(query), len(p.args)))
	p.args = append(p.args, pgArgs(args)...)
}

// send sends the queued statements and then tail (a statement without
// arguments, or ""), in one round trip.
func (p *pipe) send(ctx context.Context, tail string) error {
	stmts := p.stmts
	if tail != "" {
		stmts = append(stmts, tail)
	}
	if len(stmts) == 0 {
		return nil
	}
	text := strings.Join(stmts, ";\n")
	args := p.args
	p.stmts, p.args = p.stmts[:0], nil
	var err error
	if len(args) == 0 {
		_, err = p.conn.ExecContext(ctx, text) // pgx: the simple protocol
	} else {
		_, err = p.conn.ExecContext(ctx, text, append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
	}
	if err != nil && p.err == nil {
		p.err = err
	}
	return err
}

// renumber adds off to the number of every $N placeholder of query ($N
// inside a quoted literal stays).
func renumber(query string, off int) string {
	if off == 0 {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	quoted := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '$' && !quoted:
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			if j > i+1 {
				n, _ := strconv.Atoi(query[i+1 : j])
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n + off))
				i = j - 1
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// runPipelined runs fn in a pipelined transaction of mode m (see above)
// and commits when fn returns nil.
func (db *DB) runPipelined(ctx context.Context, m txMode, fn func(tx *wtx) error) (err error) {
	conn, err := db.pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// Aborted, or never begun: end it, or drop the connection if
			// even that fails (ResetSession would drop it too, seeing a
			// transaction open).
			if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}
		conn.Close()
	}()
	begin := "BEGIN ISOLATION LEVEL READ COMMITTED;\nSELECT " + lockCall(m, strconv.FormatInt(writeLock, 10))
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		return fmt.Errorf("take the write lock: %w", err)
	}
	p := &pipe{conn: conn}
	err = fn(&wtx{shared: m.shared, p: p})
	if err == nil {
		err = p.send(ctx, "COMMIT")
	}
	if p.err != nil {
		return p.err // the cause; what failed after it failed for it
	}
	return err
}
