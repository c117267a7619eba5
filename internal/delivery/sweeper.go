package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookd/hookd"
)

// Defaults of Sweeper.
const (
	DefaultSweepBatch = 500
	DefaultSweepPause = 10 * time.Millisecond
)

// Sweeper deletes terminal messages, their attempts and events older than
// the retention, in small batches with a pause between them, so that the
// store's writer is never held long and delivery does not stall.
type Sweeper struct {
	Store     hookd.SweepStore
	Retention time.Duration // data last updated before now-Retention goes
	Interval  time.Duration // between sweeps (default SweepInterval(Retention))
	Batch     int           // rows per Store.Sweep call (default DefaultSweepBatch)
	Pause     time.Duration // between batches (default DefaultSweepPause)
	Now       func() time.Time
	Logger    *slog.Logger
}

// Bounds of SweepInterval.
const (
	MaxSweepInterval = time.Minute
	MinSweepInterval = time.Second
)

// SweepInterval is how often data kept for retention is swept:
// retention/4, so that data outlives its retention by at most a quarter of
// it (with --retention 2s it lived a minute when every sweep was a minute
// apart), but at most MaxSweepInterval, and at least MinSweepInterval,
// below which a sweep (a few indexed queries on an empty result) would run
// more often than anyone could tell the difference.
func SweepInterval(retention time.Duration) time.Duration {
	return min(MaxSweepInterval, max(MinSweepInterval, retention/4))
}

// Run sweeps at once and then every Interval until ctx ends. A failed
// sweep is logged and tried again at the next interval.
func (s *Sweeper) Run(ctx context.Context) {
	interval := s.Interval
	if interval <= 0 {
		interval = SweepInterval(s.Retention)
	}
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := s.SweepOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Error("delivery: sweep", "err", err, "deleted", n)
		case n > 0:
			log.Info("delivery: swept old data", "deleted", n, "retention", s.Retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepOnce deletes everything past the retention, batch by batch while
// batches come back full, and returns how many rows went.
func (s *Sweeper) SweepOnce(ctx context.Context) (int, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	batch, pause := s.Batch, s.Pause
	if batch <= 0 {
		batch = DefaultSweepBatch
	}
	if pause <= 0 {
		pause = DefaultSweepPause
	}
	total := 0
	for {
		t := now()
		n, err := s.Store.Sweep(ctx, t.Add(-s.Retention), batch, t)
		total += n
		if err != nil {
			return total, fmt.Errorf("sweep: %w", err)
		}
		if n < batch {
			return total, nil
		}
		select { // let the dispatcher's writes in between batches
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(pause):
		}
	}
}

// RunSweeper runs a Sweeper on store with the given retention and interval
// (0: SweepInterval(retention)) until ctx ends, logging to logger (nil:
// slog.Default()).
func RunSweeper(ctx context.Context, store hookd.SweepStore, retention, interval time.Duration, logger *slog.Logger) {
	(&Sweeper{Store: store, Retention: retention, Interval: interval, Logger: logger}).Run(ctx)
}
