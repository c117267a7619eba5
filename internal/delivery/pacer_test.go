package delivery

import (
	"testing"
	"time"
)

// reserve spaces the starts of one webhook by the interval however close
// together the workers ask, and leaves other webhooks alone.
func TestStartsReserve(t *testing.T) {
	var s starts
	t0 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	const iv = 200 * time.Millisecond
	for _, tt := range []struct {
		id   string
		at   time.Duration // when the worker asks, after t0
		wait time.Duration
	}{
		{"a", 0, 0},
		{"a", 10 * time.Millisecond, 190 * time.Millisecond}, // a worker freed early waits for its turn
		{"a", 20 * time.Millisecond, 380 * time.Millisecond}, // and the next one after it
		{"b", 20 * time.Millisecond, 0},                      // another webhook is not held up
		{"a", 700 * time.Millisecond, 0},                     // late: starts at once
		{"a", 850 * time.Millisecond, 50 * time.Millisecond},
		{"a", 3 * time.Second, 0},
	} {
		if got := s.reserve(tt.id, iv, t0.Add(tt.at)); got != tt.wait {
			t.Errorf("reserve(%s) at +%v = %v, want %v", tt.id, tt.at, got, tt.wait)
		}
	}
}

// begin lets an attempt start only an interval after the last one began,
// however late the worker woke from its reserved turn, and reads the
// start time on the given clock.
func TestStartsBegin(t *testing.T) {
	var s starts
	t0 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	const iv = 200 * time.Millisecond
	for _, tt := range []struct {
		id   string
		at   time.Duration // when the worker begins, after t0
		wait time.Duration
	}{
		{"a", 0, 0},
		{"a", 80 * time.Millisecond, 120 * time.Millisecond}, // on its reserved turn, but the one before began late
		{"a", 200 * time.Millisecond, 0},
		{"b", 210 * time.Millisecond, 0}, // another webhook is not held up
		{"a", 390 * time.Millisecond, 10 * time.Millisecond},
		{"a", 400 * time.Millisecond, 0},
	} {
		now := t0.Add(tt.at)
		clock := func() time.Time { return now.Add(time.Hour) }
		wait, started := s.begin(tt.id, iv, now, clock)
		if wait != tt.wait {
			t.Errorf("begin(%s) at +%v waits %v, want %v", tt.id, tt.at, wait, tt.wait)
		}
		if want := (time.Time{}); wait == 0 {
			want = clock()
			if !started.Equal(want) {
				t.Errorf("begin(%s) at +%v started at %v, want the clock's %v", tt.id, tt.at, started, want)
			}
		} else if !started.IsZero() {
			t.Errorf("begin(%s) at +%v started at %v while it must wait", tt.id, tt.at, started)
		}
	}
}
