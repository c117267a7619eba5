package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/hookdtest"
)

// streamer runs c.Stream in the background and hands its deliveries and
// its final error to the test.
type streamer struct {
	got    chan *client.StreamDelivery
	err    chan error // the iteration's end: its error, or nil
	cancel context.CancelFunc
}

// openStream opens a stream and waits until the server answered it, so
// that events published afterwards are on it.
func openStream(t *testing.T, c *client.Client, tenant string, opts client.StreamOptions) *streamer {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx(t))
	s := &streamer{got: make(chan *client.StreamDelivery, 100), err: make(chan error, 1), cancel: cancel}
	connected := make(chan struct{}, 10)
	opts.OnConnect = func() { connected <- struct{}{} }
	go func() {
		for d, err := range c.Stream(ctx, tenant, &opts) {
			if err != nil {
				s.err <- err
				return
			}
			s.got <- d
		}
		s.err <- nil
	}()
	t.Cleanup(func() {
		cancel()
		<-s.err
	})
	select {
	case <-connected:
	case err := <-s.err:
		s.err <- err
	case <-time.After(30 * time.Second):
		t.Fatal("the stream did not open within 30 s")
	}
	return s
}

func (s *streamer) next(t *testing.T) *client.StreamDelivery {
	t.Helper()
	select {
	case d := <-s.got:
		return d
	case err := <-s.err:
		t.Fatalf("the stream ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery within 30 s")
	}
	return nil
}

// TestStream: a stream yields the tenant's events of the patterns
// published after it opened, each as the body a webhook gets (but for its
// id), and resumes after a position.
func TestStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hookdtest.Options{})
	if _, err := e.admin.Events.Publish(ctx(t), tenant, &client.EventInput{Type: "Unit.Before"}); err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t)
	if _, err := e.admin.Webhooks.Create(ctx(t), tenant, &client.WebhookInput{Name: "units", URL: rc.URL, EventTypes: []string{"Unit.*"}}); err != nil {
		t.Fatal(err)
	}
	s := openStream(t, e.admin, tenant, client.StreamOptions{EventTypes: []string{"Unit.*", "Lease.Signed"}})

	var ids []string
	for _, in := range []client.EventInput{
		{Type: "Other.Thing"},
		{Type: "Unit.Updated", Payload: json.RawMessage(`{"id": 17, "name": "3rd <floor>"}`), Group: "property-12"},
		{Type: "Lease.Signed", Payload: map[string]string{"lease": "9"}},
	} {
		res, err := e.admin.Events.Publish(ctx(t), tenant, &in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.ID)
	}
	first, second := s.next(t), s.next(t)
	if first.EventID != ids[1] || first.ID != ids[1] || first.Type != "Unit.Updated" || first.Group != "property-12" ||
		first.TenantID != tenant || !jsonEqual(t, first.Data, []byte(`{"id":17,"name":"3rd <floor>"}`)) || first.Position != ids[1] {
		t.Fatalf("first delivery = %+v", first)
	}
	if second.EventID != ids[2] || second.Type != "Lease.Signed" || second.Position != ids[2] {
		t.Fatalf("second delivery = %+v", second)
	}
	// The body is the one hookd POSTs to a webhook, but for the id: the
	// message's there, the event's here.
	waitFor(t, "the webhook's delivery", func() bool { return rc.count() == 1 })
	var posted map[string]any
	if err := json.Unmarshal(rc.requests()[0].Body, &posted); err != nil {
		t.Fatal(err)
	}
	posted["id"] = ids[1]
	if want, _ := json.Marshal(posted); !jsonEqual(t, first.Body, want) {
		t.Fatalf("stream body %s\nwebhook body %s", first.Body, rc.requests()[0].Body)
	}
	if !bytes.Contains(first.Body, []byte(`"data":{"id":17,"name":"3rd \u003cfloor\u003e"}`)) {
		t.Fatalf("the body is not byte for byte hookd's: %s", first.Body)
	}

	// Resuming after the first gives the second again, and nothing before.
	r := openStream(t, e.admin, tenant, client.StreamOptions{EventTypes: []string{"Lease.*", "Unit.*"}, LastEventID: first.Position})
	if d := r.next(t); d.EventID != ids[2] {
		t.Fatalf("resumed after %s: got %s, want %s", first.Position, d.EventID, ids[2])
	}
	// Every type without patterns; a batch comes in order.
	all := openStream(t, e.admin, tenant, client.StreamOptions{})
	batch, err := e.admin.Events.PublishBatch(ctx(t), tenant, []client.EventInput{{Type: "A"}, {Type: "B"}, {Type: "C"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batch {
		if d := all.next(t); d.EventID != b.ID {
			t.Fatalf("batch: got %s (%s), want %s", d.EventID, d.Type, b.ID)
		}
	}
	select {
	case d := <-s.got:
		t.Fatalf("the Unit.*/Lease.Signed stream got %s", d.Type)
	default:
	}
}

// TestStreamRefused: an answer no retry changes ends the stream with the
// *Error; another tenant's key learns nothing.
func TestStreamRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hookdtest.Options{})
	k, err := e.admin.Keys.Create(ctx(t), tenant, &client.KeyInput{Scopes: []client.Scope{client.ScopeWebhooksRead}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		c      *client.Client
		tenant string
		opts   client.StreamOptions
		check  func(error) bool
	}{
		{"bad pattern", e.admin, tenant, client.StreamOptions{EventTypes: []string{"Unit.*", "a b"}},
			func(err error) bool { return client.AsError(err).FieldMessage("event_type[1]") != "" }},
		{"bad Last-Event-ID", e.admin, tenant, client.StreamOptions{LastEventID: "msg_nope"},
			func(err error) bool { return client.AsError(err).FieldMessage("Last-Event-ID") != "" }},
		{"scope", mustClient(t, e.srv.URL, k.Token), tenant, client.StreamOptions{}, client.IsForbidden},
		{"another tenant", e.admin, "other", client.StreamOptions{}, client.IsNotFound},
		{"no token", mustClient(t, e.srv.URL, ""), tenant, client.StreamOptions{}, client.IsUnauthorized},
	} {
		var errs []error
		for d, err := range tt.c.Stream(ctx(t), tt.tenant, &tt.opts) {
			if d != nil {
				t.Fatalf("%s: a delivery %+v", tt.name, d)
			}
			errs = append(errs, err)
		}
		if len(errs) != 1 || !tt.check(errs[0]) {
			t.Errorf("%s: errors %v", tt.name, errs)
		}
	}
}

// TestStreamReconnects: when the server ends the stream (it shuts down)
// the client says so and tries again with backoff, until ctx ends.
func TestStreamReconnects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hookdtest.Options{})
	c := mustClient(t, e.srv.URL, e.key.Token, client.WithRetryPolicy(client.RetryPolicy{MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}))
	disconnects := make(chan error, 100)
	s := openStream(t, c, tenant, client.StreamOptions{OnDisconnect: func(err error, wait time.Duration) {
		select {
		case disconnects <- err:
		default:
		}
	}})
	e.srv.API.CloseStreams()
	var errs []error
	for len(errs) < 2 {
		select {
		case err := <-disconnects:
			errs = append(errs, err)
		case <-time.After(30 * time.Second):
			t.Fatalf("disconnects: %v", errs)
		}
	}
	// First the stream that ended, then a refused reconnect: 503 while
	// the server shuts down.
	if client.AsError(errs[0]) != nil || !client.IsUnavailable(errs[1]) {
		t.Fatalf("disconnects = %v", errs)
	}
	s.cancel()
	if err := <-s.err; err != nil {
		t.Fatalf("the stream ended with %v after its ctx", err)
	}
	s.err <- nil // for the cleanup
}

// TestWhoami: the root token and an API key say who they are.
func TestWhoami(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hookdtest.Options{})
	w, err := e.root.Whoami(ctx(t))
	if err != nil || !w.Root || w.Key != nil {
		t.Fatalf("root: %+v, %v", w, err)
	}
	w, err = e.admin.Whoami(ctx(t))
	if err != nil || w.Root || w.Key == nil || w.Key.TenantID != tenant || w.Key.ID != e.key.ID ||
		!slices.Equal(w.Key.Scopes, []client.Scope{client.ScopeAdmin}) || w.Key.Token != "" {
		t.Fatalf("key: %+v, %v", w, err)
	}
	if _, err := mustClient(t, e.srv.URL, "hk_nope").Whoami(ctx(t)); !client.IsUnauthorized(err) {
		t.Fatalf("unknown token: %v", err)
	}
}
