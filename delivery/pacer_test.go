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
