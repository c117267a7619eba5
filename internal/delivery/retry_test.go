package delivery_test

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
)

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	server := delivery.RetryPolicy{Schedule: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}}
	own := []hookd.Duration{hookd.Duration(time.Minute), hookd.Duration(time.Hour)}
	for _, tt := range []struct {
		name       string
		policy     delivery.RetryPolicy
		maxRetries int
		schedule   []hookd.Duration
		tries      int
		retryAfter time.Duration
		state      hookd.MessageState
		delay      time.Duration
	}{
		{"first failure, server schedule", server, 3, nil, 1, 0, hookd.StateRetrying, time.Second},
		{"second failure", server, 3, nil, 2, 0, hookd.StateRetrying, 2 * time.Second},
		{"last retry left", server, 3, nil, 3, 0, hookd.StateRetrying, 3 * time.Second},
		{"retries spent", server, 3, nil, 4, 0, hookd.StateFailed, 0},
		{"no retries", server, 0, nil, 1, 0, hookd.StateFailed, 0},
		{"last entry repeats", server, 10, nil, 8, 0, hookd.StateRetrying, 3 * time.Second},
		{"webhook schedule wins", server, 3, own, 1, 0, hookd.StateRetrying, time.Minute},
		{"webhook schedule repeats", server, 5, own, 4, 0, hookd.StateRetrying, time.Hour},
		{"default schedule", delivery.RetryPolicy{}, 6, nil, 1, 0, hookd.StateRetrying, 5 * time.Minute},
		{"default schedule end", delivery.RetryPolicy{}, 6, nil, 6, 0, hookd.StateRetrying, 24 * time.Hour},
		{"default: 7 attempts at most", delivery.RetryPolicy{}, 6, nil, 7, 0, hookd.StateFailed, 0},
		{"retry-after longer", server, 3, nil, 1, 90 * time.Second, hookd.StateRetrying, 90 * time.Second},
		{"retry-after shorter", server, 3, own, 1, 5 * time.Second, hookd.StateRetrying, time.Minute},
		{"retry-after capped", server, 3, nil, 1, 48 * time.Hour, hookd.StateRetrying, 24 * time.Hour},
		{"retry-after when spent", server, 3, nil, 4, time.Hour, hookd.StateFailed, 0},
	} {
		w := &hookd.Webhook{MaxRetries: tt.maxRetries, RetrySchedule: tt.schedule}
		state, at := tt.policy.Next(w, tt.tries, tt.retryAfter, now)
		var want time.Time
		if tt.state == hookd.StateRetrying {
			want = now.Add(tt.delay)
		}
		if state != tt.state || !at.Equal(want) {
			t.Errorf("%s: Next = %s at %v, want %s at %v", tt.name, state, at, tt.state, want)
		}
	}
}
