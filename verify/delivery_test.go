package verify_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/hookdtest"
	"github.com/hookd/hookd/verify"
)

// capture is a receiver on loopback that keeps every delivery as it
// arrived, headers and body, and answers status.
type capture struct {
	URL    string
	mu     sync.Mutex
	got    []delivered
	answer http.Handler // nil: 204
}

type delivered struct {
	Header http.Header
	Body   []byte
}

func newCapture(t *testing.T, answer http.Handler) *capture {
	t.Helper()
	c := &capture{answer: answer}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.got = append(c.got, delivered{r.Header.Clone(), b})
		c.mu.Unlock()
		if c.answer == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		c.answer.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c.URL = "http://" + ln.Addr().String() + "/hook"
	return c
}

// wait returns the n-th delivery (1-based), waiting for it.
func (c *capture) wait(t *testing.T, n int) delivered {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.mu.Lock()
		if len(c.got) >= n {
			d := c.got[n-1]
			c.mu.Unlock()
			return d
		}
		c.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no delivery %d after 30s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ctxOf(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// TestRealDeliveries: deliveries signed by hookd's delivery engine, sent to
// a receiver on loopback, pass verify and the reference library alike,
// with one secret, a plain one, and two during a rotation; changed ones
// fail both.
func TestRealDeliveries(t *testing.T) {
	t.Parallel()
	srv := hookdtest.Start(t, hookdtest.Options{})
	c, err := client.New(srv.URL, client.WithToken(hookdtest.RootToken))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxOf(t)
	if _, err := c.Tenants.Create(ctx, &client.TenantInput{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	rc := newCapture(t, nil)
	wh, err := c.Webhooks.Create(ctx, "acme", &client.WebhookInput{Name: "r", URL: rc.URL, EventTypes: []string{"Unit.*"}})
	if err != nil {
		t.Fatal(err)
	}
	first := wh.Secrets[0]
	publish := func(n int) *client.PublishResult {
		t.Helper()
		res, err := c.Events.Publish(ctx, "acme", &client.EventInput{Type: "Unit.Updated", Payload: map[string]any{"n": n, "html": "<b>&</b>", "ü": "ß"},
			Group: "property-12", Attributes: map[string]string{"party_id": "42"}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	check := func(name string, d delivered, secrets ...string) *verify.Envelope {
		t.Helper()
		v, err := verify.New(secrets...)
		if err != nil {
			t.Fatal(err)
		}
		env, err := v.Parse(d.Header, d.Body)
		if err != nil {
			t.Fatalf("%s: verify: %v", name, err)
		}
		for _, s := range secrets {
			if err := reference(t, s, d.Header, d.Body); err != nil {
				t.Fatalf("%s: the reference library with %s…: %v", name, s[:10], err)
			}
		}
		return env
	}

	// One generated secret.
	res := publish(1)
	d := rc.wait(t, 1)
	env := check("one secret", d, first)
	if env.ID != d.Header.Get("webhook-id") || env.EventID != res.ID || env.Type != "Unit.Updated" || env.TenantID != "acme" ||
		env.Group != "property-12" || string(env.Data) != `{"html":"\u003cb\u003e\u0026\u003c/b\u003e","n":1,"ü":"ß"}` {
		t.Fatalf("envelope = %+v, data %s", env, env.Data)
	}
	ev, err := c.Events.Get(ctx, "acme", res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !env.Timestamp.Equal(ev.CreatedAt) {
		t.Fatalf("envelope timestamp %v, event created %v", env.Timestamp, ev.CreatedAt)
	}

	// Negative: the same delivery changed, or too old.
	tampered := bytes.Replace(d.Body, []byte(`"n":1`), []byte(`"n":2`), 1)
	v, _ := verify.New(first)
	if err := v.Verify(d.Header, tampered); !errors.Is(err, verify.ErrNoMatch) {
		t.Fatalf("tampered body: %v", err)
	}
	if err := reference(t, first, d.Header, tampered); err == nil {
		t.Fatal("tampered body: the reference library accepts it")
	}
	v.Now = func() time.Time { return time.Now().Add(6 * time.Minute) }
	if err := v.Verify(d.Header, d.Body); !errors.Is(err, verify.ErrTooOld) {
		t.Fatalf("six minutes later: %v", err)
	}
	old := d.Header.Clone()
	ts, _ := strconv.ParseInt(old.Get("webhook-timestamp"), 10, 64)
	old.Set("webhook-timestamp", strconv.FormatInt(ts-6*60, 10))
	if err := reference(t, first, old, d.Body); err == nil {
		t.Fatal("an old timestamp: the reference library accepts it")
	}
	other, _ := verify.New("whsec_AAAAAAAAAAAAAAAAAAAAAA==")
	if _, err := other.Parse(d.Header, d.Body); !errors.Is(err, verify.ErrNoMatch) {
		t.Fatalf("another secret: %v", err)
	}

	// Rotation: two signatures; either secret alone passes.
	secrets, err := c.Webhooks.RotateSecret(ctx, "acme", wh.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	publish(2)
	d = rc.wait(t, 2)
	if sigs := bytes.Count([]byte(d.Header.Get("webhook-signature")), []byte("v1,")); sigs != 2 {
		t.Fatalf("%d signatures during a rotation, want 2", sigs)
	}
	check("rotation, new secret", d, secrets[0])
	check("rotation, old secret", d, first)
	check("rotation, both", d, secrets[0], first)

	// A plain secret.
	const plainSecret = "a plain secret, 16+ printable"
	if _, err := c.Webhooks.RotateSecret(ctx, "acme", wh.ID, plainSecret); err != nil {
		t.Fatal(err)
	}
	publish(3)
	check("plain secret", rc.wait(t, 3), plainSecret)
}

// TestHandlerRefusesToHookd: a receiver behind verify.Handler that lacks
// the webhook's secret answers 401, and hookd records the failed attempt
// with the reason; given the secret, the retry is accepted.
func TestHandlerRefusesToHookd(t *testing.T) {
	t.Parallel()
	srv := hookdtest.Start(t, hookdtest.Options{})
	c, err := client.New(srv.URL, client.WithToken(hookdtest.RootToken))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxOf(t)
	if _, err := c.Tenants.Create(ctx, &client.TenantInput{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	v, err := verify.New("whsec_AAAAAAAAAAAAAAAAAAAAAA==")
	if err != nil {
		t.Fatal(err)
	}
	var envs []*verify.Envelope
	rc := newCapture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cur := v
		mu.Unlock()
		verify.Handler(cur, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			env, _ := verify.FromContext(r.Context())
			mu.Lock()
			envs = append(envs, env)
			mu.Unlock()
		})).ServeHTTP(w, r)
	}))
	wh, err := c.Webhooks.Create(ctx, "acme", &client.WebhookInput{Name: "r", URL: rc.URL, EventTypes: []string{"*"},
		MaxRetries: client.Ptr(0)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Events.Publish(ctx, "acme", &client.EventInput{Type: "Unit.Updated"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Messages.List(ctx, "acme", &client.MessageListOptions{EventID: res.ID})
	if err != nil || len(p.Data) != 1 {
		t.Fatalf("messages: %+v, %v", p, err)
	}
	id := p.Data[0].ID
	m := waitMessage(t, c, id, client.StateFailed)
	if m.LastStatusCode != 401 {
		t.Fatalf("message = %+v, want failed with 401", m)
	}
	atts, err := c.Messages.Attempts(ctx, "acme", id, nil)
	if err != nil || len(atts.Data) != 1 || !bytes.Contains([]byte(atts.Data[0].ResponseBody), []byte("no signature matches")) {
		t.Fatalf("attempts = %+v, %v", atts, err)
	}

	good, err := verify.New(wh.Secrets[0])
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	v = good
	mu.Unlock()
	if _, err := c.Messages.Retry(ctx, "acme", id); err != nil {
		t.Fatal(err)
	}
	waitMessage(t, c, id, client.StateSuccessful)
	mu.Lock()
	defer mu.Unlock()
	if len(envs) != 1 || envs[0].ID != id || envs[0].EventID != res.ID {
		t.Fatalf("envelopes passed on: %+v", envs)
	}
}

func waitMessage(t *testing.T, c *client.Client, id string, state client.MessageState) *client.Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := c.Messages.Get(ctxOf(t), "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		if m.State == state {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s is %s after 30s, want %s", id, m.State, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
