package sqlstore

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd"
)

// A database that cannot take a write now (its disk is full, it is
// unreachable, shutting down or busy beyond the store's patience) is a
// state of the world, not a bug: the store answers EUNAVAILABLE, which the
// API turns into 503 with Retry-After, and remembers that writes fail, so
// that readiness (Ping) says so until a write succeeds again. Nothing of a
// failed write is stored: each write is one transaction, rolled back
// whole.

// Unavailable returns err as an EUNAVAILABLE error when it says the
// database cannot serve the call now (see Dialect.Unavailable): its
// message tells the client what happened; the original error stays in the
// chain for the logs. Any other error, and nil, is returned unchanged.
// Stores call it on the errors of reads; writes go through Wrote.
func (s *Store) Unavailable(err error) error { return s.classify(err, false) }

// Wrote returns the error of a write transaction as Unavailable does, and
// when it is EUNAVAILABLE remembers that writes fail, for readiness (see
// CheckWrites). Stores call it on every write's outcome; a success costs
// nothing (it does not clear the mark: a transaction that changed nothing
// commits on a full disk too).
func (s *Store) Wrote(err error) error {
	if err == nil {
		return nil
	}
	err = s.classify(err, true)
	var ue *unavailableError
	if errors.As(err, &ue) {
		now := s.now()
		f := &writeFailure{reason: ue.reason, since: now, last: now}
		if old := s.health.failing.Load(); old != nil && old.reason == f.reason {
			f.since = old.since
		}
		s.health.failing.Store(f) // a new record each time: see CheckWrites
	}
	return err
}

// classify returns err as an unavailableError whose message ends in advice
// (that nothing was stored, for a write) when the dialect says it is the
// database's unavailability, else err. An error classified before is
// returned as it is. The reason is the dialect's text, a catalogue key of
// its own (hookd.Text).
func (s *Store) classify(err error, write bool) error {
	var ue *unavailableError
	if err == nil || errors.As(err, &ue) || s.Dialect.Unavailable == nil {
		return err
	}
	reason := s.Dialect.Unavailable(err)
	if reason == "" {
		return err
	}
	e := hookd.Errorf(hookd.EUNAVAILABLE, "%s: retry later", hookd.Text(reason))
	if write {
		e = hookd.Errorf(hookd.EUNAVAILABLE, "%s: nothing was stored, retry later", hookd.Text(reason))
	}
	return &unavailableError{e: e, reason: reason, cause: err}
}

// unavailableError is an EUNAVAILABLE *hookd.Error that keeps the driver's
// error (for the logs) and the reason (for CheckWrites).
type unavailableError struct {
	e      *hookd.Error
	reason string
	cause  error
}

func (e *unavailableError) Error() string   { return e.e.Error() + " (" + e.cause.Error() + ")" }
func (e *unavailableError) Unwrap() []error { return []error{e.e, e.cause} }

// writeFailure is the last write that failed for want of the database.
type writeFailure struct {
	reason string
	since  time.Time // the first failure for this reason
	last   time.Time // the last one
}

// writeHealth is what Store knows of its writes' health.
type writeHealth struct {
	failing atomic.Pointer[writeFailure] // nil while writes succeed
	checked atomic.Bool                  // a probe succeeded once
}

// failureHold is how long after a write failed for want of the database
// CheckWrites reports writes failing without trying one. A small probe may
// succeed where real writes fail (on a full disk, in the room a failed
// larger transaction left in SQLite's WAL), so readiness waits until real
// writes stopped failing for a while; it also spaces the probes.
const failureHold = 10 * time.Second

// CheckWrites returns nil while writes succeed, and EUNAVAILABLE saying
// why they fail after one failed for want of the database. Once none has
// failed for failureHold it tries a small write of its own (ProbeWrite):
// if it succeeds, so that readiness comes back even when nothing else
// writes, writes are taken to succeed again. It also tries one the first
// time it is called: a process started on a full disk has not failed a
// write yet.
func (s *Store) CheckWrites(ctx context.Context) error {
	f := s.health.failing.Load()
	switch {
	case f == nil && s.health.checked.Load():
		return nil
	case f != nil && s.now().Sub(f.last) < failureHold:
		return f.err()
	}
	err := s.ProbeWrite(ctx)
	if err == nil {
		s.health.checked.Store(true)
		// Unless a write failed while the probe ran: its record is new.
		if s.health.failing.CompareAndSwap(f, nil) || s.health.failing.Load() == nil {
			return nil
		}
	} else if hookd.ErrorCode(err) != hookd.EUNAVAILABLE {
		return err
	}
	if f = s.health.failing.Load(); f == nil {
		return nil
	}
	return f.err()
}

// err is the failure as readiness reports it.
func (f *writeFailure) err() error {
	return hookd.Errorf(hookd.EUNAVAILABLE, "writes fail since %s: %s", f.since.UTC().Format(time.RFC3339), hookd.Text(f.reason))
}

// ProbeWrite commits a transaction that writes a row and deletes it again:
// it needs the room and the database a real write needs (SQLite skips an
// UPDATE that changes nothing, so the row is new), and leaves nothing.
// schema_version is every store's smallest table; version -1 is no
// migration's.
func (s *Store) ProbeWrite(ctx context.Context) error {
	return s.Tx(ctx, func(tx Conn) error {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO schema_version (version, name, applied_at) VALUES (-1, 'write probe', 0)"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM schema_version WHERE version = -1")
		return err
	})
}

// readFailed turns *err into EUNAVAILABLE when it is the database's
// unavailability (see Unavailable). The read methods the API calls defer
// it, so that a read while the database is away answers 503, not 500.
func (s *Store) readFailed(err *error) { *err = s.Unavailable(*err) }
