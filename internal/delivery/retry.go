package delivery

import (
	"time"

	"github.com/hookd/hookd"
)

// RetryPolicy decides what follows a failed attempt.
type RetryPolicy struct {
	// Schedule is the server's default delay before retry 1, 2, … (the
	// last repeats), used for webhooks without their own retry_schedule;
	// nil means hookd.DefaultRetrySchedule. Set by --retry-schedule.
	Schedule []time.Duration
}

// Next returns the message's state after a failed attempt of webhook w at
// now: tries counts the attempts of the current cycle including this one.
// While retries are left (tries-1 < w.MaxRetries) it is StateRetrying at
// now + the schedule's delay before retry number tries, or later when the
// receiver asked for more with Retry-After (retryAfter, capped at
// MaxRetryAfter); otherwise StateFailed and a zero time.
func (p RetryPolicy) Next(w *hookd.Webhook, tries int, retryAfter time.Duration, now time.Time) (hookd.MessageState, time.Time) {
	if tries < 1 {
		tries = 1
	}
	if tries-1 >= w.MaxRetries {
		return hookd.StateFailed, time.Time{}
	}
	def := p.Schedule
	if def == nil {
		def = hookd.DefaultRetrySchedule
	}
	delay := hookd.RetryDelay(w.RetrySchedule, def, tries)
	delay = max(delay, min(retryAfter, MaxRetryAfter))
	return hookd.StateRetrying, now.Add(delay)
}
