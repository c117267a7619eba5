package delivery

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/metrics"
)

// QueueStatsEvery is how long the queue gauges' figures are reused: a
// scrape within it asks the store nothing. Counting messages by state
// counts every message on an index (for a million messages 57-281 ms on
// SQLite, 0.38 s on PostgreSQL on a loaded 2-core machine; BENCHMARKS.md),
// so scrapes every few seconds, or several Prometheus servers, must not
// each pay for it.
const QueueStatsEvery = 10 * time.Second

// queueStatsTimeout bounds the store queries of one refresh.
const queueStatsTimeout = 10 * time.Second

// QueueStore is what the queue gauges read.
type QueueStore interface {
	hookd.MessageCounter
	// NextDue is hookd.Store's: when the earliest waiting message became
	// or becomes due.
	NextDue(ctx context.Context) (time.Time, bool, error)
}

// RegisterQueueGauges registers the gauges of the store's queue, read at
// scrape time and reused for every (0: QueueStatsEvery):
//
//   - hookd_messages{state="…"}: messages in each state, every tenant's;
//   - hookd_oldest_due_message_age_seconds: how long the message that has
//     been due the longest without an attempt has waited (0 when none is
//     due): the engine's lag.
//
// A failed refresh is logged and the last figures are kept. now is the
// clock (nil: time.Now).
func RegisterQueueGauges(r *metrics.Registry, store QueueStore, every time.Duration, now func() time.Time, logger *slog.Logger) {
	if every <= 0 {
		every = QueueStatsEvery
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.Default()
	}
	q := &queueStats{store: store, every: every, now: now, log: logger}
	for _, st := range hookd.States {
		r.Gauge(`hookd_messages{state="`+string(st)+`"}`,
			"Messages in each state, all tenants, as of the last count (at most "+every.String()+" old).",
			func() float64 { return float64(q.get().counts[st]) })
	}
	r.Gauge("hookd_oldest_due_message_age_seconds",
		"How long the message due the longest without an attempt has waited, 0 when none is due.",
		func() float64 { return q.get().oldestDue })
}

// queueStats is the last figures read, and when.
type queueStats struct {
	store QueueStore
	every time.Duration
	now   func() time.Time
	log   *slog.Logger

	mu   sync.Mutex // held while refreshing: concurrent scrapes wait for one refresh
	at   time.Time
	last queueFigures
}

type queueFigures struct {
	counts    map[hookd.MessageState]int64
	oldestDue float64 // seconds
}

// get returns the figures, refreshing them when older than every.
func (q *queueStats) get() queueFigures {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	if !q.at.IsZero() && now.Sub(q.at) < q.every && !now.Before(q.at) {
		return q.last
	}
	ctx, cancel := context.WithTimeout(context.Background(), queueStatsTimeout)
	defer cancel()
	q.at = now // a failure is not retried by every gauge of the same scrape
	counts, err := q.store.CountMessagesByState(ctx)
	if err != nil {
		q.log.Warn("metrics: count messages by state", "err", err)
	} else {
		q.last.counts = counts
	}
	next, ok, err := q.store.NextDue(ctx)
	switch {
	case err != nil:
		q.log.Warn("metrics: find the oldest due message", "err", err)
	case ok && next.Before(now):
		q.last.oldestDue = now.Sub(next).Seconds()
	default:
		q.last.oldestDue = 0
	}
	return q.last
}
