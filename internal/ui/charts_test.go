package ui_test

import (
	"math"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/ui"
)

// point is an hour of attempts, all in the 8-12 ms bin, ok of them
// successful.
func point(n, ok int64) *hookd.HealthPoint {
	h := make(hookd.Histogram, len(hookd.LatencyBounds)+1)
	h[5] = n
	return &hookd.HealthPoint{Attempts: n, Successes: ok, Latency: h}
}

// The charts keep their frame whatever the data: one point is a bar in
// the last slot (not a lone bar with labels floating beside it), the
// latency of one hour is two dots (not a stub of a line), and nothing is
// drawn outside the box.
func TestChartsAtAnyAmountOfData(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 17, 40, 0, 0, time.UTC)
	hour := func(back int) time.Time { return now.Truncate(time.Hour).Add(-time.Duration(back) * time.Hour) }
	day := map[time.Time]*hookd.HealthPoint{}
	for i := range 24 {
		day[hour(i)] = point(100+int64(i), 90)
	}
	tests := []struct {
		name            string
		pts             map[time.Time]*hookd.HealthPoint
		bars, dots, gap int // of the rate chart: data bars and empty marks; of the latency chart: dots
		lines           int
	}{
		{"nothing", nil, 0, 0, 24, 0},
		{"one point", map[time.Time]*hookd.HealthPoint{hour(0): point(40, 40)}, 1, 2, 23, 0},
		{"a few", map[time.Time]*hookd.HealthPoint{hour(0): point(40, 40), hour(1): point(10, 4), hour(5): point(3, 0)}, 3, 6, 21, 2},
		{"a full day", day, 24, 48, 0, 2},
		{"older than the day", map[time.Time]*hookd.HealthPoint{hour(24): point(5, 5)}, 0, 0, 24, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, lang := range []string{"en", "de"} {
				shapes := ui.DayCharts(lang, now, tt.pts)
				for _, s := range shapes {
					inside(t, s)
				}
				rate, lat := shapes[2], shapes[3]
				if len(rate.Bars) != tt.bars || len(rate.Gaps) != tt.gap || rate.Rows != tt.bars {
					t.Errorf("rate chart: %d bars, %d empty marks, %d rows; want %d, %d, %d", len(rate.Bars), len(rate.Gaps), rate.Rows, tt.bars, tt.gap, tt.bars)
				}
				if len(lat.Dots) != tt.dots || lat.Lines != tt.lines {
					t.Errorf("latency chart: %d dots, %d lines; want %d, %d", len(lat.Dots), lat.Lines, tt.dots, tt.lines)
				}
				if got, want := rate.Empty, tt.bars == 0; got != want {
					t.Errorf("rate chart empty = %v, want %v", got, want)
				}
				if tt.bars == 1 {
					// The one bar is the last hour's: at the right end of the plot.
					if b := rate.Bars[0]; b[0] < rate.W*0.9 {
						t.Errorf("the one bar is at x %.1f, want in the last slot", b[0])
					}
				}
				if len(rate.XLabels) < 3 || len(rate.GridLabels) != 3 {
					t.Errorf("rate chart: %d hour labels, %d value labels; want 3 or more, and 3 (0, 50, 100 %%)", len(rate.XLabels), len(rate.GridLabels))
				}
			}
		})
	}
}

// inside fails for anything drawn outside the chart's box, a label in the
// plot, or a NaN.
func inside(t *testing.T, s ui.Shape) {
	t.Helper()
	bad := func(what string, vs ...float64) {
		t.Helper()
		t.Errorf("%s chart: %s at %v is outside %gx%g", s.Kind, what, vs, s.W, s.H)
	}
	for _, r := range append(append([][4]float64{}, s.Bars...), s.Gaps...) {
		if math.IsNaN(r[0]+r[1]+r[2]+r[3]) || r[0] < 0 || r[1] < 0 || r[0]+r[2] > s.W+0.5 || r[1]+r[3] > s.H+0.5 || r[2] <= 0 || r[3] <= 0 {
			bad("a bar", r[:]...)
		}
	}
	for _, d := range s.Dots {
		if math.IsNaN(d[0]+d[1]) || d[0] < 0 || d[0] > s.W || d[1] < 0 || d[1] > s.H {
			bad("a dot", d[:]...)
		}
	}
	for _, l := range s.XLabels {
		if l[0] < 0 || l[0] > s.W || l[1] < s.H-20 || l[1] > s.H {
			bad("hour label (not in the bottom band)", l[:]...)
		}
	}
	for _, l := range s.GridLabels {
		if l[0] < 0 || l[0] > 50 || l[1] < 0 || l[1] > s.H {
			bad("value label (not in the left gutter)", l[:]...)
		}
	}
}
