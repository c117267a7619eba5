package main

import (
	"math"
	"slices"
	"time"
)

// percentile returns the p-th percentile (0..100) of sorted by the
// nearest-rank method: the smallest value such that at least p % of the
// values are less than or equal to it. Zero for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	if p >= 100 {
		return sorted[n-1]
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = max(rank, 1)
	return sorted[rank-1]
}

// latencySummary is the distribution of end-to-end latencies of a phase.
type latencySummary struct {
	Count int     `json:"count"`
	P50MS float64 `json:"p50_ms"`
	P90MS float64 `json:"p90_ms"`
	P99MS float64 `json:"p99_ms"`
	MaxMS float64 `json:"max_ms"`
}

// summarize sorts lat in place and returns its percentiles.
func summarize(lat []time.Duration) latencySummary {
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return latencySummary{
		Count: len(lat),
		P50MS: ms(percentile(lat, 50)),
		P90MS: ms(percentile(lat, 90)),
		P99MS: ms(percentile(lat, 99)),
		MaxMS: ms(percentile(lat, 100)),
	}
}

// groupOrder checks that the per-group sequence numbers of first receipts
// only increase: hookd must deliver the messages of a group one at a time
// in publish order, so a number at or below the last one seen for its group
// is a violation (a later message overtook it). A gap alone is not counted:
// the overtaken message is either flagged when it arrives or reported lost.
type groupOrder struct {
	last       map[string]int64
	violations int
	samples    []string // the first few violations, for the report
}

// maxOrderSamples bounds how many violations are kept for the report.
const maxOrderSamples = 5

// observe records that message n of group arrived; it reports false for an
// out-of-order arrival.
func (g *groupOrder) observe(group string, n int64) bool {
	if g.last == nil {
		g.last = make(map[string]int64)
	}
	last, seen := g.last[group]
	if seen && n <= last {
		g.violations++
		if len(g.samples) < maxOrderSamples {
			g.samples = append(g.samples, group+": #"+itoa(n)+" after #"+itoa(last))
		}
		return false
	}
	g.last[group] = n
	return true
}

func itoa(n int64) string {
	var b [20]byte
	return string(appendInt(b[:0], n))
}

// rate returns n per second over d; 0 when d is not positive.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// countIn returns how many of the unix-nanosecond times lie in [from, to).
// times need not be sorted.
func countIn(times []int64, from, to int64) int {
	n := 0
	for _, t := range times {
		if t >= from && t < to {
			n++
		}
	}
	return n
}

// scaled returns base × scale rounded, but at least lo.
func scaled(base int, scale float64, lo int) int {
	return max(int(math.Round(float64(base)*scale)), lo)
}
