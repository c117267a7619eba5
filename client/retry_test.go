package client_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/hookdtest"
)

// proxy stands between a client and hookd on loopback. intercept sees
// each request with its number (1, 2, …) and may answer it itself (true)
// or let it through to hookd (false).
type proxy struct {
	URL       string
	mu        sync.Mutex
	seen      []string // "METHOD path" of each request
	intercept func(n int, w http.ResponseWriter, r *http.Request) bool
}

func newProxy(t *testing.T, target string, intercept func(n int, w http.ResponseWriter, r *http.Request) bool) *proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &proxy{intercept: intercept}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.Method+" "+r.URL.Path)
		n := len(p.seen)
		p.mu.Unlock()
		if p.intercept(n, w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	p.URL = "http://" + ln.Addr().String()
	return p
}

func (p *proxy) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.seen)
}

// unavailableOnce answers the first request 503 with Retry-After: 1.
func unavailableOnce(n int, w http.ResponseWriter, r *http.Request) bool {
	if n > 1 {
		return false
	}
	w.Header().Set("Retry-After", "1")
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write([]byte(`{"type":"https://hookd.dev/errors/unavailable","title":"Service unavailable","status":503,"detail":"shutting down","errors":[]}`))
	return true
}

// hangUpOnce closes the first request's connection without an answer.
func hangUpOnce(n int, w http.ResponseWriter, r *http.Request) bool {
	if n > 1 {
		return false
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
	return true
}

func TestRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hookdtest.Options{})
	through := func(t *testing.T, intercept func(int, http.ResponseWriter, *http.Request) bool, opts ...client.Option) (*client.Client, *proxy) {
		p := newProxy(t, e.srv.URL, intercept)
		return mustClient(t, p.URL, e.key.Token, opts...), p
	}

	t.Run("GET after a 503 with Retry-After", func(t *testing.T) {
		t.Parallel()
		c, p := through(t, unavailableOnce)
		start := time.Now()
		if _, err := c.Webhooks.List(ctx(t), tenant, nil); err != nil {
			t.Fatal(err)
		}
		if p.count() != 2 {
			t.Fatalf("%d requests, want 2", p.count())
		}
		if d := time.Since(start); d < time.Second {
			t.Fatalf("retried after %v, before the Retry-After of 1s", d)
		}
	})
	t.Run("publish without a key: not after a 503", func(t *testing.T) {
		t.Parallel()
		c, p := through(t, unavailableOnce)
		_, err := c.Events.Publish(ctx(t), tenant, &client.EventInput{Type: "A"})
		if ae := client.AsError(err); !client.IsUnavailable(err) || ae.RetryAfter != time.Second || ae.Detail != "shutting down" {
			t.Fatalf("err = %#v, want the 503 with its Retry-After", err)
		}
		if p.count() != 1 {
			t.Fatalf("%d requests, want 1", p.count())
		}
	})
	t.Run("publish with a key after a 503", func(t *testing.T) {
		t.Parallel()
		c, p := through(t, unavailableOnce)
		res, err := c.Events.Publish(ctx(t), tenant, &client.EventInput{Type: "A", IdempotencyKey: "retry-503"})
		if err != nil || res.Duplicate {
			t.Fatalf("publish = %+v, %v", res, err)
		}
		if p.count() != 2 {
			t.Fatalf("%d requests, want 2", p.count())
		}
	})
	t.Run("batch with every key after a lost answer", func(t *testing.T) {
		t.Parallel()
		// The proxy passes the first request on to hookd and hangs up
		// instead of answering: the events are stored, and the retry
		// finds them by their keys.
		lost := func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n > 1 {
				return false
			}
			rec := &discard{header: http.Header{}}
			httputil.NewSingleHostReverseProxy(mustURL(t, e.srv.URL)).ServeHTTP(rec, r)
			return hangUpOnce(n, w, r)
		}
		c, p := through(t, lost)
		res, err := c.Events.PublishBatch(ctx(t), tenant, []client.EventInput{{Type: "A", IdempotencyKey: "lost-1"}, {Type: "B", IdempotencyKey: "lost-2"}})
		if err != nil || len(res) != 2 || !res[0].Duplicate || !res[1].Duplicate {
			t.Fatalf("batch = %+v, %v: want both events found by their keys", res, err)
		}
		if p.count() != 2 {
			t.Fatalf("%d requests, want 2", p.count())
		}
	})
	t.Run("GET after a hang-up; a create is not repeated", func(t *testing.T) {
		t.Parallel()
		c, p := through(t, hangUpOnce)
		if _, err := c.Events.List(ctx(t), tenant, nil); err != nil {
			t.Fatal(err)
		}
		if p.count() != 2 {
			t.Fatalf("GET: %d requests, want 2", p.count())
		}
		c, p = through(t, hangUpOnce)
		_, err := c.Webhooks.Create(ctx(t), tenant, &client.WebhookInput{Name: "x", URL: "http://127.0.0.1:9/hangup", EventTypes: []string{"*"}})
		if err == nil || client.AsError(err) != nil {
			t.Fatalf("create after a hang-up: err = %v, want the connection's", err)
		}
		if p.count() != 1 {
			t.Fatalf("create: %d requests, want 1", p.count())
		}
	})
	t.Run("429 is retried for any call", func(t *testing.T) {
		t.Parallel()
		c, p := through(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n > 1 {
				return false
			}
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		})
		if _, err := c.Webhooks.Create(ctx(t), tenant, &client.WebhookInput{Name: "x", URL: "http://127.0.0.1:9/429", EventTypes: []string{"*"}}); err != nil {
			t.Fatal(err)
		}
		if p.count() != 2 {
			t.Fatalf("%d requests, want 2", p.count())
		}
	})
	t.Run("a Retry-After beyond MaxWait is returned", func(t *testing.T) {
		t.Parallel()
		c, p := through(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		})
		_, err := c.Webhooks.List(ctx(t), tenant, nil)
		if ae := client.AsError(err); ae == nil || ae.Status != 503 || ae.RetryAfter != 2*time.Minute {
			t.Fatalf("err = %v", err)
		}
		if p.count() != 1 {
			t.Fatalf("%d requests, want 1", p.count())
		}
	})
	t.Run("bounded", func(t *testing.T) {
		t.Parallel()
		c, p := through(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}, client.WithRetryPolicy(client.RetryPolicy{MaxRetries: 2, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}))
		if _, err := c.Webhooks.List(ctx(t), tenant, nil); !client.IsUnavailable(err) {
			t.Fatalf("err = %v", err)
		}
		if p.count() != 3 {
			t.Fatalf("%d requests, want 3 (1 + MaxRetries 2)", p.count())
		}
		c, p = through(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}, client.WithRetryPolicy(client.RetryPolicy{}))
		if _, err := c.Webhooks.List(ctx(t), tenant, nil); !client.IsUnavailable(err) || p.count() != 1 {
			t.Fatalf("without retries: %v after %d requests", err, p.count())
		}
	})
	t.Run("the context ends a wait", func(t *testing.T) {
		t.Parallel()
		c, _ := through(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Retry-After", "20")
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		})
		cx, cancel := context.WithTimeout(ctx(t), 200*time.Millisecond)
		defer cancel()
		_, err := c.Webhooks.List(cx, tenant, nil)
		if !errors.Is(err, context.DeadlineExceeded) || !client.IsUnavailable(err) {
			t.Fatalf("err = %v, want the 503 and the deadline", err)
		}
	})
	t.Run("a refused connection is retried for any call", func(t *testing.T) {
		t.Parallel()
		// Nothing listens on the port at first; a proxy starts there
		// after the first refusal.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		dials := make(chan struct{}, 10)
		hc := &http.Client{Transport: &http.Transport{DialContext: func(cx context.Context, network, a string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(cx, network, a)
			dials <- struct{}{}
			return conn, err
		}}}
		c := mustClient(t, "http://"+addr, e.key.Token, client.WithHTTPClient(hc),
			client.WithRetryPolicy(client.RetryPolicy{MaxRetries: 5, MinBackoff: 200 * time.Millisecond, MaxBackoff: time.Second}))
		started := make(chan error, 1)
		go func() {
			<-dials
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				started <- err
				return
			}
			rp := httputil.NewSingleHostReverseProxy(mustURL(t, e.srv.URL))
			srv := &http.Server{Handler: rp}
			t.Cleanup(func() { srv.Close() })
			started <- nil
			srv.Serve(ln)
		}()
		_, err = c.Webhooks.Create(ctx(t), tenant, &client.WebhookInput{Name: "x", URL: "http://127.0.0.1:9/refused", EventTypes: []string{"*"}})
		if serr := <-started; serr != nil {
			t.Skipf("the port was taken meanwhile: %v", serr)
		}
		if err != nil {
			t.Fatalf("create after a refused connection: %v", err)
		}
	})
}

// TestRetryRateLimited: hookd's own rate limit answers 429 with
// Retry-After; a client without retries gets the 429, the default client
// waits and gets through.
func TestRetryRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hookdtest.Options{RateLimit: 0.5, RateBurst: 1})
	if _, err := e.admin.Webhooks.List(ctx(t), tenant, nil); err != nil {
		t.Fatal(err)
	}
	c := mustClient(t, e.srv.URL, e.key.Token, client.WithRetryPolicy(client.RetryPolicy{}))
	if _, err := c.Webhooks.List(ctx(t), tenant, nil); !client.IsRateLimited(err) || client.AsError(err).RetryAfter < time.Second {
		t.Fatalf("without retries: err = %v, want 429 with Retry-After", err)
	}
	if _, err := e.admin.Webhooks.List(ctx(t), tenant, nil); err != nil {
		t.Fatalf("with retries: %v", err)
	}
	var buf bytes.Buffer
	e.srv.Metrics.WriteText(&buf)
	m := regexp.MustCompile(`hookd_http_requests_total\{method="GET",route="/v1/tenants/\{tenant\}/webhooks",code="429"\} (\d+)`).FindStringSubmatch(buf.String())
	if m == nil || m[1] != "2" {
		t.Fatalf("429 answers: %v, want 2 (one for each client)", m)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// discard is a ResponseWriter that drops the answer.
type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
