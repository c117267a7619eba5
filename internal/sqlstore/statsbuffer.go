package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// Delivery statistics wait in memory before they are written.
//
// Complete used to add its round's counts to delivery_stats in the round's
// own transaction: one upsert per round, and one more page for each
// commit to write. On small rounds (a quiet system: a few outcomes per
// Complete) that made Complete cost 7-11 % more CPU than without
// statistics (measured with BenchmarkComplete, see the commit that made
// this change). The counts of committed rounds now gather in the store's
// statsBuffer; a timer, armed when the first count comes into an empty
// buffer, writes them all in one lazy transaction StatsFlushInterval
// later, and Close writes what still waits. Reads (WebhookHealth) add
// what still waits, so a node's own dashboard is exact; another node of a
// shared PostgreSQL store sees them within StatsFlushInterval.
//
// What a crash loses: at most the statistics of the last
// StatsFlushInterval (5 s), never a message or an attempt (Complete
// writes those durably, as before); and, while the database refuses
// writes, the statistics that wait for it (a failed write keeps them and
// tries again StatsFlushInterval later). The dashboard's charts then
// undercount those seconds; nothing else reads delivery_stats.

// StatsFlushInterval is the longest delivery statistics wait in memory
// before they are written (Options.StatsFlush changes it).
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
	flush  sync.Mutex // held by a flush, and by a read that adds the buffer to what it read
	mu     sync.Mutex // guards the fields below
	rows   map[statsKey]*statsCounts
	timer  *time.Timer // writes rows when it fires; armed while rows wait
	armed  bool
	closed bool // Close wrote the last of them: nothing is armed any more
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
// Complete; they are written at most StatsFlushInterval later.
func (s *Store) KeepStats(ts []hookd.Transition) {
	if len(ts) == 0 {
		return
	}
	b := &s.stats
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rows == nil {
		b.rows = map[statsKey]*statsCounts{}
	}
	statsOf(ts, b.rows)
	if len(b.rows) > 0 {
		s.armStats()
	}
}

// armStats starts the wait of the counts that just came in, unless one
// runs or the store closed; the caller holds s.stats.mu.
func (s *Store) armStats() {
	b := &s.stats
	if b.armed || b.closed {
		return
	}
	d := s.StatsFlush
	if d <= 0 {
		d = StatsFlushInterval
	}
	b.armed = true
	if b.timer == nil {
		b.timer = time.AfterFunc(d, func() { s.flushStats(context.Background(), false) })
	} else {
		b.timer.Reset(d)
	}
}

// FlushStats writes every statistic that waits and stops the timer: the
// stores call it in Close, before their connections close. Counts kept
// after it are written by the next FlushStats only.
func (s *Store) FlushStats(ctx context.Context) error {
	b := &s.stats
	b.mu.Lock()
	b.closed = true
	if b.timer != nil {
		b.timer.Stop() // one that fired already waits for b.flush, then finds nothing
	}
	b.mu.Unlock()
	return s.flushStats(ctx, true)
}

// flushStats writes what waits in one lazy transaction. A failed write
// puts it back, to be tried again a wait later (the Completes themselves
// succeeded). final is Close's: it does not arm again.
func (s *Store) flushStats(ctx context.Context, final bool) error {
	b := &s.stats
	b.flush.Lock()
	defer b.flush.Unlock()
	b.mu.Lock()
	rows := b.rows
	b.rows, b.armed = nil, false
	b.mu.Unlock()
	if len(rows) == 0 {
		return nil
	}
	// Lazy: statistics are not worth an fsync of their own.
	err := s.Lazy(ctx, func(tx Conn) error { return writeStats(ctx, tx, &s.Dialect, rows) })
	if err == nil {
		return nil
	}
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
	if !final {
		s.armStats()
	}
	b.mu.Unlock()
	return fmt.Errorf("write delivery statistics: %w", err)
}

// writeStats adds rows to delivery_stats: one multi-row upsert.
func writeStats(ctx context.Context, tx Conn, d *Dialect, rows map[statsKey]*statsCounts) error {
	// In key order, the one order in which writes running at once (nodes
	// that drew the same shard) lock the rows: no deadlock between them.
	keys := make([]statsKey, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b statsKey) int {
		return cmp.Or(strings.Compare(a.tenant, b.tenant), strings.Compare(a.webhook, b.webhook), cmp.Compare(a.bucket, b.bucket))
	})
	cols, upsert := statsCols, plainUpsert
	var shard []any
	if d.StatsShard != nil {
		cols, upsert, shard = shardedStatsCols, shardedUpsert, []any{d.StatsShard()}
	}
	args := make([]any, 0, len(rows)*len(cols))
	for _, k := range keys {
		r := rows[k]
		args = append(append(args, k.tenant, k.webhook, k.bucket), shard...)
		args = append(args, r.attempts, r.successes)
		for _, v := range r.hist {
			args = append(args, v)
		}
	}
	return insertRows(ctx, tx, "delivery_stats", cols, upsert, args)
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
