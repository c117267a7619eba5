package delivery

import (
	"crypto/x509"
	"time"

	"github.com/hookd/hookd"
)

// TrustRoots makes s verify TLS receivers against roots instead of the
// system's, for tests with an httptest TLS server.
func TrustRoots(s *Sender, roots *x509.CertPool) {
	s.client.tls.RootCAs = roots
}

// RequestTarget is requestTarget, for TestRequestTarget.
var RequestTarget = requestTarget

// FairQueue is the dispatcher's fair queue (fair.go) for its table
// tests: deliveries are named by message id, webhooks by id.
type FairQueue struct{ q *fairQueue }

// NewFairQueue returns an empty fair queue for workers workers and a
// default max_in_flight of defLimit.
func NewFairQueue(workers, defLimit int) *FairQueue {
	return &FairQueue{q: newFairQueue(workers, defLimit)}
}

// Push queues message msg of webhook (of tenant, with max_in_flight
// maxInFlight, 0 for the default) that must start by deadline.
func (f *FairQueue) Push(tenant, webhook, msg string, maxInFlight int, deadline, now time.Time) {
	d := &hookd.Delivery{Message: hookd.Message{ID: msg, TenantID: tenant, WebhookID: webhook},
		Webhook: hookd.Webhook{ID: webhook, TenantID: tenant, MaxInFlight: maxInFlight}}
	f.q.push(job{d: d, deadline: deadline}, now)
}

// Pop starts the next delivery and returns its message id ("" for none).
func (f *FairQueue) Pop() string {
	j, ok := f.q.pop()
	if !ok {
		return ""
	}
	return j.d.Message.ID
}

// Done ends an attempt of webhook with error code errCode ("" for a
// success, "none" for no attempt) after took, and returns "opened" or
// "closed" when the circuit changed.
func (f *FairQueue) Done(webhook, errCode string, took time.Duration, now time.Time) string {
	kind := kindOf(&hookd.Attempt{Success: errCode == "", Error: errCode})
	if errCode == "none" {
		kind = kindNone
	}
	switch f.q.done(webhook, kind, took, now) {
	case circuitOpened:
		return "opened"
	case circuitClosed:
		return "closed"
	}
	return ""
}

// GiveBack is a delivery the queue hands back, due at Due.
type GiveBack struct {
	Msg string
	Due time.Time
}

// GiveBacks returns what the queue set aside to hand back.
func (f *FairQueue) GiveBacks() []GiveBack {
	var out []GiveBack
	for _, h := range f.q.takeGiveBacks() {
		out = append(out, GiveBack{Msg: h.j.d.Message.ID, Due: h.due})
	}
	return out
}

// Counted is what counts against the claim window; Queued what waits.
func (f *FairQueue) Counted() int { return f.q.counted }

// Queued is how many deliveries wait.
func (f *FairQueue) Queued() int { return f.q.queued }
