package sqlstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// Delivery statistics wait in memory before they are written.
//
// Complete used to add its round's counts to delivery_stats in the round's
// own transaction: one upsert per round, and one more page for each
// commit to write. On small rounds (a quiet system: a few outcomes per
// Complete) that made Complete cost 7-11 % more CPU (BENCHMARKS.md, "The
// dashboard at one million messages"). The counts of committed rounds now
// gather in the store's statsBuffer and are written together at most
// every StatsFlushInterval (after a Complete, or in NextDue, which the
// dispatcher calls at least every 5 s when idle), and at Close. Reads
// (WebhookHealth) add what still waits, so a node's own dashboard is
// exact; another node of a shared PostgreSQL store sees them within
// about StatsFlushInterval plus its poll interval. A crash loses at most
// the last StatsFlushInterval of statistics, never a message or an
// attempt: the attempts themselves are written by Complete as before.

// StatsFlushInterval is the longest delivery statistics wait in memory
// while deliveries go on.
const StatsFlushInterval = 5 * time.Second

type statsKey struct {
	tenant, webhook string
	bucket          int64
}

type statsCounts struct {
	attempts, successes int64
	hist                []int64
}

func (c *statsCounts) add(o *statsCounts) {
	c.attempts += o.attempts
	c.successes += o.successes
	for i, v := range o.hist {
		c.hist[i] += v
	}
}

// statsBuffer is the counts of committed rounds not yet written.
type statsBuffer struct {
	flush sync.Mutex // held by a flush, and by a read that adds the buffer to what it read
	mu    sync.Mutex // guards the fields below
	rows  map[statsKey]*statsCounts
	since time.Time // when the oldest count waiting came in; zero when none waits
}

// statsOf counts the recorded attempts of ts (test calls aside: they say
// nothing of a webhook's deliveries, as for its failure streak) into rows.
func statsOf(ts []hookd.Transition, rows map[statsKey]*statsCounts) {
	width := hookd.StatsBucket.Milliseconds()
	for i := range ts {
		a := ts[i].Attempt
		if a == nil || a.Trigger == hookd.TriggerTest {
			continue
		}
		ms := MS(a.StartedAt)
		k := statsKey{a.TenantID, a.WebhookID, ms - ms%width}
		r, ok := rows[k]
		if !ok {
			r = &statsCounts{hist: make([]int64, len(histCols))}
			rows[k] = r
		}
		r.attempts++
		if a.Success {
			r.successes++
		}
		r.hist[hookd.LatencyBin(a.DurationMS)]++
	}
}

// KeepStats keeps the statistics of the transitions of a committed
// Complete, and writes what waits when it waited StatsFlushInterval (a
// failed write keeps it for the next time: the Complete itself
// succeeded).
func (s *Store) KeepStats(ctx context.Context, ts []hookd.Transition, now time.Time) {
	b := &s.stats
	if len(ts) > 0 {
		b.mu.Lock()
		if b.rows == nil {
			b.rows = map[statsKey]*statsCounts{}
		}
		n := len(b.rows)
		statsOf(ts, b.rows)
		if b.since.IsZero() && len(b.rows) > n {
			b.since = now
		}
		b.mu.Unlock()
	}
	s.flushStats(ctx, now, false)
}

// FlushStatsIfDue writes the statistics that waited StatsFlushInterval;
// the stores call it from NextDue, which an idle dispatcher calls too.
func (s *Store) FlushStatsIfDue(ctx context.Context) { s.flushStats(ctx, s.now(), false) }

// FlushStats writes every statistic that waits (at Close).
func (s *Store) FlushStats(ctx context.Context) error { return s.flushStats(ctx, s.now(), true) }

func (s *Store) flushStats(ctx context.Context, now time.Time, all bool) error {
	b := &s.stats
	b.mu.Lock()
	due := len(b.rows) > 0 && (all || now.Sub(b.since) >= StatsFlushInterval || now.Before(b.since))
	b.mu.Unlock()
	if !due {
		return nil
	}
	if all {
		b.flush.Lock()
	} else if !b.flush.TryLock() {
		return nil // a read or another flush holds it: the next call writes them
	}
	defer b.flush.Unlock()
	b.mu.Lock()
	rows, since := b.rows, b.since
	b.rows, b.since = nil, time.Time{}
	b.mu.Unlock()
	if len(rows) == 0 {
		return nil
	}
	// Lazy: statistics are not worth an fsync of their own.
	err := s.Lazy(ctx, func(tx Conn) error { return writeStats(ctx, tx, rows) })
	if err != nil {
		// Back into the buffer, with what came in meanwhile.
		b.mu.Lock()
		if b.rows == nil {
			b.rows = map[statsKey]*statsCounts{}
		}
		for k, row := range rows {
			if cur, ok := b.rows[k]; ok {
				cur.add(row)
			} else {
				b.rows[k] = row
			}
		}
		b.since = since
		b.mu.Unlock()
		return fmt.Errorf("write delivery statistics: %w", err)
	}
	return nil
}

// writeStats adds rows to delivery_stats: one multi-row upsert.
func writeStats(ctx context.Context, tx Conn, rows map[statsKey]*statsCounts) error {
	args := make([]any, 0, len(rows)*len(statsCols))
	for k, r := range rows {
		args = append(args, k.tenant, k.webhook, k.bucket, r.attempts, r.successes)
		for _, v := range r.hist {
			args = append(args, v)
		}
	}
	return insertRows(ctx, tx, "delivery_stats", statsCols, statsUpsert, args)
}

// waitingStats calls fn with each waiting count of the tenant's webhooks
// (all when ids is empty) in [from, until); the caller holds b.flush.
func (b *statsBuffer) waiting(tenant string, ids map[string]bool, from, until int64, fn func(statsKey, *statsCounts)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, r := range b.rows {
		if k.tenant == tenant && (len(ids) == 0 || ids[k.webhook]) && k.bucket >= from && k.bucket < until {
			cp := *r
			cp.hist = append([]int64(nil), r.hist...)
			fn(k, &cp)
		}
	}
}
