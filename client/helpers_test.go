package client_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/hookdtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// env is a running hookd with a tenant "acme", a root client and a client
// holding an admin key of acme.
type env struct {
	srv   *hookdtest.Server
	root  *client.Client
	admin *client.Client
	key   *client.APIKey
}

const tenant = "acme"

func newEnv(t *testing.T, opts hookdtest.Options) *env {
	t.Helper()
	srv := hookdtest.Start(t, opts)
	e := &env{srv: srv, root: mustClient(t, srv.URL, hookdtest.RootToken)}
	if _, err := e.root.Tenants.Create(ctx(t), &client.TenantInput{ID: tenant, Name: "Acme GmbH"}); err != nil {
		t.Fatal(err)
	}
	k, err := e.root.Keys.Create(ctx(t), tenant, &client.KeyInput{Name: "admin", Scopes: []client.Scope{client.ScopeAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	e.key = k
	e.admin = mustClient(t, srv.URL, k.Token)
	return e
}

func mustClient(tb testing.TB, base, token string, opts ...client.Option) *client.Client {
	tb.Helper()
	c, err := client.New(base, append([]client.Option{client.WithToken(token)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// ctx is a context that ends with the test, and after a minute at most,
// so that a hanging call fails the test instead of the whole run.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// receiver is a webhook target on loopback that answers with status and
// records every request.
type receiver struct {
	URL    string
	status atomic.Int64
	mu     sync.Mutex
	reqs   []received
}

type received struct {
	Header http.Header
	Body   []byte
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{}
	r.status.Store(http.StatusOK)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	r.URL = "http://" + ln.Addr().String() + "/hook"
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, received{Header: req.Header.Clone(), Body: b})
	r.mu.Unlock()
	w.WriteHeader(int(r.status.Load()))
}

// requests returns a copy of the requests received so far.
func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.reqs...)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// waitFor polls cond until it holds, failing the test after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitState waits until the message is in state and returns it.
func waitState(t *testing.T, c *client.Client, id string, state client.MessageState) *client.Message {
	t.Helper()
	var m *client.Message
	waitFor(t, "message "+id+" "+string(state), func() bool {
		var err error
		m, err = c.Messages.Get(ctx(t), tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		return m.State == state
	})
	return m
}

// collect drains an iterator, failing on its error.
func collect[T any](t *testing.T, seq func(func(*T, error) bool)) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *v)
	}
	return out
}
