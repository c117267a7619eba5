package client

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

// RetryPolicy says when and how often a call is made again.
//
// A call is retried, at most MaxRetries times:
//   - when it is idempotent (GET, PUT, DELETE, an unsuspend, and a publish
//     whose events all carry an idempotency key) and the connection failed
//     or the answer was 429 or 503;
//   - whatever it is, when the connection could not be made (nothing was
//     sent) or the answer was 429 (hookd refuses a rate-limited request
//     before doing anything).
//
// Between attempts it waits the answer's Retry-After, or else an
// exponential backoff from MinBackoff up to MaxBackoff with jitter. A
// Retry-After longer than MaxWait (when MaxWait > 0) is not waited for: the
// call returns the *Error, whose RetryAfter says how long the server asked
// to wait. The context's deadline bounds every wait.
type RetryPolicy struct {
	MaxRetries int
	MinBackoff time.Duration
	MaxBackoff time.Duration
	MaxWait    time.Duration
}

// DefaultRetryPolicy is a client's policy unless WithRetryPolicy sets
// another: 3 retries, backoff from 200 ms to 5 s, Retry-After up to 30 s.
var DefaultRetryPolicy = RetryPolicy{MaxRetries: 3, MinBackoff: 200 * time.Millisecond,
	MaxBackoff: 5 * time.Second, MaxWait: 30 * time.Second}

// backoff returns the wait before retry attempt+1: MinBackoff doubled per
// attempt, capped at MaxBackoff, and drawn from its upper half so that
// clients refused together do not come back together.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := max(p.MinBackoff, time.Millisecond)
	for i := 0; i < attempt && d < p.MaxBackoff; i++ {
		d *= 2
	}
	if p.MaxBackoff > 0 && d > p.MaxBackoff {
		d = p.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter decides whether an error answer is retried, and after how
// long.
func (p RetryPolicy) retryAfter(attempt int, idempotent bool, e *Error) (time.Duration, bool) {
	if attempt >= p.MaxRetries {
		return 0, false
	}
	switch {
	case e.Status == http.StatusTooManyRequests:
	case e.Status == http.StatusServiceUnavailable && idempotent:
	default:
		return 0, false
	}
	wait := e.RetryAfter
	if wait <= 0 {
		wait = p.backoff(attempt)
	}
	if p.MaxWait > 0 && wait > p.MaxWait {
		return 0, false
	}
	return wait, true
}

// notSent reports whether err says that no connection was made, so that
// the server cannot have seen the request.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}
