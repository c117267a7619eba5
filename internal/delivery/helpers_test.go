package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/sqlite"
)

const tenant = "acme"

// MustOpenDB returns a fresh SQLite store with the tenant, closed at the end.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "hookd.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.CreateTenant(context.Background(), &hookd.Tenant{ID: tenant, Name: "Acme", CreatedAt: time.Now()}); err != nil {
		tb.Fatal(err)
	}
	return db
}

// MustWebhook stores a webhook for every event type to url, signed with the
// spec's vector secret, changed by opts.
func MustWebhook(tb testing.TB, db hookd.Store, url string, opts ...func(*hookd.Webhook)) *hookd.Webhook {
	tb.Helper()
	w := hookd.NewWebhookDefaults()
	w.TenantID, w.Name, w.URL = tenant, "test", url
	w.EventTypes = []string{"*"}
	w.Secrets = []hookd.Secret{{Value: vecSecret, CreatedAt: time.Now()}}
	w.TimeoutMS = 5000
	for _, o := range opts {
		o(w)
	}
	if err := db.CreateWebhook(context.Background(), w); err != nil {
		tb.Fatal(err)
	}
	return w
}

// MustPublish publishes one event per payload number n ({"n": n}) in group
// and returns the events' ids.
func MustPublish(tb testing.TB, db hookd.Store, group string, ns ...int) []string {
	tb.Helper()
	in := make([]hookd.EventInput, len(ns))
	for i, n := range ns {
		in[i] = hookd.EventInput{Type: "Unit.Updated", Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)), Group: group}
	}
	res, err := db.Publish(context.Background(), tenant, in, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	ids := make([]string, len(res))
	for i, r := range res {
		ids[i] = r.EventID
	}
	return ids
}

// messages returns the webhook's messages in creation order.
func messages(tb testing.TB, db hookd.Store, webhookID string) []*hookd.Message {
	tb.Helper()
	var out []*hookd.Message
	p := hookd.Page{Limit: 1000}
	for {
		ms, err := db.ListMessages(context.Background(), tenant, hookd.MessageFilter{Page: p, WebhookID: webhookID})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, ms...)
		if len(ms) < p.Limit {
			return out
		}
		p.After = ms[len(ms)-1].ID
	}
}

// waitFor polls cond every few milliseconds until it holds or the time is up.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitStates waits until every message of the webhook is in state.
func waitStates(tb testing.TB, db hookd.Store, webhookID string, n int, state hookd.MessageState, timeout time.Duration) []*hookd.Message {
	tb.Helper()
	var ms []*hookd.Message
	waitFor(tb, timeout, fmt.Sprintf("%d messages %s", n, state), func() bool {
		ms = messages(tb, db, webhookID)
		if len(ms) != n {
			return false
		}
		for _, m := range ms {
			if m.State != state {
				return false
			}
		}
		return true
	})
	return ms
}

// quiet is a logger for tests that expect errors they do not assert on.
var quiet = slog.New(slog.DiscardHandler)

// StartDispatcher runs a dispatcher on cfg (loopback policy and a 10 ms
// retry schedule unless set) until the test ends, and checks Run's result.
func StartDispatcher(tb testing.TB, cfg delivery.Config) *delivery.Dispatcher {
	tb.Helper()
	if cfg.Policy == nil {
		cfg.Policy = loopback
	}
	if cfg.RetrySchedule == nil {
		cfg.RetrySchedule = []time.Duration{10 * time.Millisecond}
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	d := delivery.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
	return d
}

// received is one request a receiver got.
type received struct {
	At     time.Time
	Header http.Header
	Body   []byte
	Msg    struct {
		ID    string `json:"id"`
		Type  string `json:"type"`
		Group string `json:"group"`
		Data  struct {
			N int `json:"n"`
		} `json:"data"`
	}
}

// receiver is a loopback webhook target that records every request and
// answers with the status its respond func returns (200 when nil).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []received
	respond func(r *received, w http.ResponseWriter) int
}

func newReceiver(tb testing.TB, respond func(r *received, w http.ResponseWriter) int) *receiver {
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rec received
		rec.At = time.Now()
		rec.Header = r.Header.Clone()
		rec.Body, _ = io.ReadAll(r.Body)
		if err := json.Unmarshal(rec.Body, &rec.Msg); err != nil {
			tb.Errorf("receiver: body %q: %v", rec.Body, err)
		}
		status := http.StatusOK
		if rc.respond != nil {
			status = rc.respond(&rec, w)
		}
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, rec)
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	tb.Cleanup(rc.Close)
	return rc
}

// requests returns a copy of the requests so far.
func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}
