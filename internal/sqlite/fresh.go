package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlstore"
)

// Parking: while a dispatcher is registered (SetHandoff), Publish writes
// each claimable message that the dispatcher could not take at once
// already leased, to the database's park token, until parkFor from its
// publish, instead of due now. Claim then finds parked messages by reading,
// in publish (seq) order after a cursor kept in memory, and takes them
// without writing them: a message is written twice in its life (inserted,
// completed) instead of three times (inserted, leased by Claim,
// completed). Claim's UPDATE and its share of a commit were the single
// largest item on the writer per delivered message (BENCHMARKS.md).
//
// A parked message that Claim read is leased, like any claimed message,
// until now+lease of that Claim: the queue keeps that end in memory (out).
// When it passes before the message is completed or deferred, Claim makes
// the message due by writing it and leases it again the usual way, with a
// token of its own, so that the late outcome of the first attempt is
// stale.
//
// The parked rows are ordinary leased rows, so everything else holds as
// for any lease:
//   - a parked message not read within parkFor becomes due and Claim
//     leases it the usual way (the reading skips it: it only takes rows
//     still parked, lease = park token and due_at > now);
//   - a parked message that is held (webhook suspended or disabled),
//     aborted or otherwise moved is no longer 'created' with a future
//     due_at, so the reading skips it;
//   - after a crash, ReleaseLeases at start-up makes them due at once;
//   - Complete and DeferMessage check the lease as for any other.
const parkFor = 10 * time.Minute

// freshQueue is where Claim's reading of parked messages stands. Rows with
// seq ≤ cursor were read (or skipped); parked rows exist up to hi, and all
// of them were committed before hi was set, so a read that starts after
// loading hi sees them. Publish numbers messages itself, always above any
// seq it gave before (sqlstore.PendingRows.SeqTop), so no row committed
// later can have a seq at or below hi, even after the newest rows were
// deleted.
type freshQueue struct {
	reading sync.Mutex // one reading at a time: each moves the cursor
	mu      sync.Mutex
	cursor  int64
	hi      int64
	since   time.Time            // when the oldest parked row after cursor was published
	out     map[string]parkedOut // by message id: read by Claim, not finished yet
}

// parkedOut is a parked message that Claim handed out, and when its lease
// ends.
type parkedOut struct {
	seq int64
	end time.Time
}

// parked records that a committed round parked messages up to seq lastSeq,
// published at at.
func (f *freshQueue) parked(lastSeq int64, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hi <= f.cursor {
		f.since = at
	}
	f.hi = max(f.hi, lastSeq)
}

// pending returns when the oldest unread parked message was published,
// if there is one.
func (f *freshQueue) pending() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.since, f.hi > f.cursor
}

// done forgets the leases of handed-out parked messages whose outcome or
// deferral was committed.
func (f *freshQueue) done(ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		delete(f.out, id)
	}
}

// expired removes and returns the seqs of the handed-out parked messages
// whose lease ended by now.
func (f *freshQueue) expired(now time.Time) []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var seqs []any
	for id, o := range f.out {
		if !now.Before(o.end) {
			seqs = append(seqs, o.seq)
			delete(f.out, id)
		}
	}
	return seqs
}

// firstEnd returns the earliest lease end of the handed-out parked
// messages.
func (f *freshQueue) firstEnd() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var first time.Time
	for _, o := range f.out {
		if first.IsZero() || o.end.Before(first) {
			first = o.end
		}
	}
	return first, !first.IsZero()
}

// forgetAll drops every handed-out lease (ReleaseLeases ended them).
func (f *freshQueue) forgetAll() {
	f.mu.Lock()
	f.out = nil
	f.mu.Unlock()
}

// unpark makes the parked messages of seqs, whose in-memory lease ended,
// due at now, so that Claim leases them the usual way.
func (db *DB) unpark(ctx context.Context, seqs []any, now time.Time) error {
	return db.txSync(ctx, syncNormal, func(tx *wtx) error {
		return sqlstore.InChunks(seqs, func(list string, chunk []any) error {
			_, err := tx.ExecContext(ctx, `UPDATE messages SET due_at = ?
				WHERE lease = ? AND state = `+sqlstore.Lit(hookd.StateCreated)+` AND due_at > ? AND seq IN `+list,
				append([]any{sqlstore.MS(now), db.parkToken, sqlstore.MS(now)}, chunk...)...)
			return err
		})
	})
}

// parkedQuery reads parked messages after a cursor with their events, in
// one statement: the events are the larger half of a delivery's reading.
// A message whose event is gone (which the invariants rule out) is not
// read; it waits for the end of its park and goes the usual way, where
// Claim ends such messages. Arguments: cursor, hi, park token, now, limit.
var parkedQuery = `SELECT ` + qualified("m.", sqlstore.MessageColumns) + `, m.manual, m.seq, ` + qualified("e.", sqlstore.EventColumns) + `
	FROM messages m JOIN events e ON e.id = m.event_id
	WHERE m.seq > ? AND m.seq <= ? AND m.lease = ? AND m.state = ` + sqlstore.Lit(hookd.StateCreated) + ` AND m.due_at > ? ORDER BY m.seq LIMIT ?`

// qualified prefixes each column of the comma-separated cols.
func qualified(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// readParked returns up to limit parked messages after the cursor, in seq
// order, leased until now+lease, and moves the cursor past them (or to hi,
// when it read all). A message is never due before it was published.
func (db *DB) readParked(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]sqlstore.Claimed, error) {
	f := &db.fresh
	f.reading.Lock()
	defer f.reading.Unlock()
	f.mu.Lock()
	cursor, hi := f.cursor, f.hi
	f.mu.Unlock()
	if hi <= cursor || limit <= 0 {
		return nil, nil
	}
	var batch []sqlstore.Claimed
	early := false // a message published after now: stop before it
	err := sqlstore.QueryRows(ctx, prepared{db}, parkedQuery,
		[]any{cursor, hi, db.parkToken, sqlstore.MS(now), limit}, func(rows *sql.Rows) error {
			if early {
				return nil
			}
			var cl sqlstore.Claimed
			var er sqlstore.EventRow
			var err error
			if cl.M, err = sqlstore.ScanMessage(rows, append([]any{&cl.Manual, &cl.Seq}, er.Dests()...)...); err != nil {
				return err
			}
			if cl.Ev, err = er.Event(); err != nil {
				return err
			}
			if cl.M.NextAttemptAt != nil && cl.M.NextAttemptAt.After(now) {
				early = true
				return nil
			}
			batch = append(batch, cl)
			return nil
		})
	if err != nil {
		return nil, err
	}
	next := hi
	if early || len(batch) == limit {
		next = cursor
		if len(batch) > 0 {
			next = batch[len(batch)-1].Seq
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if next > f.cursor {
		f.cursor = next
	}
	if f.out == nil {
		f.out = map[string]parkedOut{}
	}
	for _, c := range batch {
		f.out[c.M.ID] = parkedOut{seq: c.Seq, end: now.Add(lease)}
	}
	return batch, nil
}
