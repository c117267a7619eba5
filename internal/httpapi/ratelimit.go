package httpapi

import (
	"math"
	"sync"
	"time"
)

// limiter is a token bucket per tenant: rate requests a second on average,
// up to burst at once. Only requests made with a tenant's API keys spend
// its tokens; the root token (the operator) is never limited.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

// allow spends a token of tenant's bucket at now, or tells how long until
// one is there.
func (l *limiter) allow(tenant string, rate float64, burst int, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	b := l.buckets[tenant]
	if b == nil {
		b = &bucket{tokens: float64(burst), at: now}
		l.buckets[tenant] = b
	}
	if now.After(b.at) {
		b.tokens = math.Min(float64(burst), b.tokens+now.Sub(b.at).Seconds()*rate)
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

// forget drops tenant's bucket (the tenant was deleted).
func (l *limiter) forget(tenant string) {
	l.mu.Lock()
	delete(l.buckets, tenant)
	l.mu.Unlock()
}
