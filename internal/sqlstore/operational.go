package sqlstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd"
)

// Operational events (hookd's operational.go) are published in the write
// transaction of the change that causes them (Complete's outcomes,
// SetSuspended), through PublishTx like any event: the domain decides
// them, this file writes them. So a suspension, a message failed for good
// or a streak's start is never committed without its event, nor the event
// without it: a crash loses both or neither. Only the report to the
// operational observer (the log line and the metric) comes after the
// commit and may be lost.

// operationalObserver is the function SetOperationalObserver set.
type operationalObserver = atomic.Pointer[func([]hookd.OperationalEvent)]

// SetOperationalObserver sets the function told of committed operational
// events (nil: none); see hookd.OperationalEventStore.
func (s *Store) SetOperationalObserver(fn func([]hookd.OperationalEvent)) {
	if fn == nil {
		s.opsObserver.Store(nil)
		return
	}
	s.opsObserver.Store(&fn)
}

// NotifyOperational tells the operational observer of events just
// committed; a store calls it after the commit of a call that published
// them itself (Complete).
func (s *Store) NotifyOperational(evs []hookd.OperationalEvent) {
	if fn := s.opsObserver.Load(); fn != nil && len(evs) > 0 {
		(*fn)(evs)
	}
}

// PublishOperational publishes the operational events evs in tx, each
// into its tenant, in their order, through PublishTx with hc and rows (no
// Placer: their messages are written due now, for Claim; hc may be a
// SealedHookCache, which decrypts no secret), sets their
// EventID and returns those published. An event whose tenant is gone
// (deleted in the same breath) is dropped. rows are flushed before and
// after, and on an error the rows of evs are dropped, so that a caller
// that rolls back to a savepoint (the SQLite store's Complete in a round)
// leaves no event of its call behind in the rows of the others.
func PublishOperational(ctx context.Context, tx Conn, hc *HookCache, rows *PendingRows, evs []hookd.OperationalEvent, now time.Time) (_ []hookd.OperationalEvent, err error) {
	if len(evs) == 0 {
		return nil, nil
	}
	if err := rows.flush(ctx, tx); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			rows.drop()
		}
	}()
	out := make([]hookd.OperationalEvent, 0, len(evs))
	for len(evs) > 0 {
		// A run of one tenant's events is one call: they share its
		// webhooks, read once.
		n := 1
		for n < len(evs) && evs[n].TenantID == evs[0].TenantID {
			n++
		}
		run := evs[:n]
		evs = evs[n:]
		ins := make([]hookd.EventInput, len(run))
		for i := range run {
			ins[i] = run[i].Input()
		}
		res, err := PublishTx(ctx, tx, hc, rows, nil, run[0].TenantID, ins, now)
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			continue // the tenant was deleted: nobody to tell
		} else if err != nil {
			return nil, fmt.Errorf("publish operational events: %w", err)
		}
		for i := range run {
			run[i].EventID = res[i].EventID
			out = append(out, run[i])
		}
	}
	if err := rows.flush(ctx, tx); err != nil {
		return nil, err
	}
	return out, nil
}

// drop forgets the pending rows not written yet.
func (p *PendingRows) drop() {
	p.events, p.keys, p.messages = p.events[:0], p.keys[:0], p.messages[:0]
}
