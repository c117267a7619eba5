package delivery_test

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/netguard"
)

// loopback allows the tests' receivers on 127.0.0.1 over plain http.
var loopback = &netguard.Policy{AllowHTTP: true, AllowPrivate: true}

// newDelivery returns a claimed-looking delivery of a fresh message to url.
func newDelivery(url string) *hookd.Delivery {
	return &hookd.Delivery{
		Message: hookd.Message{ID: hookd.NewID(hookd.PrefixMessage), TenantID: "acme", WebhookID: "wh_1",
			EventID: "evt_1", EventType: "Unit.Updated", State: hookd.StateCreated},
		Event: hookd.Event{ID: "evt_1", TenantID: "acme", Type: "Unit.Updated",
			Payload: json.RawMessage(`{"id":17}`), CreatedAt: time.Now().UTC()},
		Webhook: hookd.Webhook{ID: "wh_1", TenantID: "acme", URL: url, Enabled: true,
			Secrets: []hookd.Secret{{Value: vecSecret}}, TimeoutMS: 2000, MaxRetries: 3},
		Lease:   1,
		Trigger: hookd.TriggerScheduled,
	}
}

// newSender returns a sender for the test, closing its connections at the end.
func newSender(t *testing.T, p *netguard.Policy) *delivery.Sender {
	s := delivery.NewSender(p, 4, nil)
	t.Cleanup(s.CloseIdleConnections)
	return s
}

// newServer starts a loopback receiver closed at the end of the test.
func newServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestSendSuccess(t *testing.T) {
	t.Parallel()
	var got struct {
		header http.Header
		body   []byte
		method string
	}
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		got.header, got.method = r.Header.Clone(), r.Method
		got.body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	})
	d := newDelivery(srv.URL + "/hook")
	d.Webhook.Headers = map[string][]string{"X-Tenant": {"a", "b"}, "Content-Type": {"text/plain"}}
	d.Webhook.Auth = &hookd.Auth{Type: hookd.AuthBearer, Token: "t0ken"}
	d.Event.Group = "g1"
	r := newSender(t, loopback).Send(context.Background(), d)
	if !r.Attempt.Success || r.Attempt.StatusCode != 204 || r.Attempt.Error != "" || r.Err != nil {
		t.Fatalf("attempt = %+v, err %v", r.Attempt, r.Err)
	}
	a := r.Attempt
	if !strings.HasPrefix(a.ID, "att_") || a.MessageID != d.Message.ID || a.WebhookID != "wh_1" ||
		a.TenantID != "acme" || a.Trigger != hookd.TriggerScheduled || a.StartedAt.IsZero() {
		t.Errorf("attempt fields: %+v", a)
	}
	if got.method != http.MethodPost {
		t.Errorf("method %s", got.method)
	}
	for k, want := range map[string]string{
		"Content-Type":  "application/json",
		"User-Agent":    "hookd/" + hookd.Version,
		"Webhook-Id":    d.Message.ID,
		"Authorization": "Bearer t0ken",
	} {
		if v := got.header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	if v := got.header.Values("X-Tenant"); len(v) != 2 || v[0] != "a" || v[1] != "b" {
		t.Errorf("custom header X-Tenant = %q", v)
	}
	var body map[string]any
	if err := json.Unmarshal(got.body, &body); err != nil {
		t.Fatal(err)
	}
	if body["id"] != d.Message.ID || body["group"] != "g1" || body["type"] != "Unit.Updated" {
		t.Errorf("body %s", got.body)
	}
	wh, _ := standardwebhooks.NewWebhook(vecSecret)
	if err := wh.Verify(got.body, got.header); err != nil {
		t.Errorf("reference verifier: %v", err)
	}
}

func TestSendBasicAuth(t *testing.T) {
	t.Parallel()
	var user, pass atomic.Value
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		user.Store(u)
		pass.Store(p)
	})
	d := newDelivery(srv.URL)
	d.Webhook.Auth = &hookd.Auth{Type: hookd.AuthBasic, Username: "erp", Password: "s3cret"}
	if r := newSender(t, loopback).Send(context.Background(), d); !r.Attempt.Success {
		t.Fatalf("attempt %+v", r.Attempt)
	}
	if user.Load() != "erp" || pass.Load() != "s3cret" {
		t.Errorf("basic auth %v:%v", user.Load(), pass.Load())
	}
}

func TestSendFailures(t *testing.T) {
	t.Parallel()
	refused := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}()
	for _, tt := range []struct {
		name    string
		handler http.HandlerFunc // nil: use url
		url     string
		timeout int
		code    int
		errCode string
	}{
		{name: "500", code: 500, errCode: hookd.AttemptErrStatus,
			handler: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }},
		{name: "404", code: 404, errCode: hookd.AttemptErrStatus,
			handler: func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }},
		{name: "redirect not followed", code: 302, errCode: hookd.AttemptErrRedirect,
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/elsewhere" {
					t.Error("redirect followed")
				}
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
			}},
		{name: "timeout", timeout: 150, errCode: hookd.AttemptErrTimeout,
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body) // so the server notices the client leave
				<-r.Context().Done()
			}},
		{name: "timeout while reading the body", timeout: 150, code: 200, errCode: hookd.AttemptErrTimeout,
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Write([]byte("partial"))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}},
		{name: "connection reset", errCode: hookd.AttemptErrReset,
			handler: func(w http.ResponseWriter, r *http.Request) { resetConn(t, w) }},
		{name: "connection refused", url: refused, errCode: hookd.AttemptErrRefused},
		{name: "dns", url: "http://no-such-host.invalid/", errCode: hookd.AttemptErrDNS},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := tt.url
			if tt.handler != nil {
				url = newServer(t, tt.handler).URL
			}
			d := newDelivery(url)
			if tt.timeout > 0 {
				d.Webhook.TimeoutMS = tt.timeout
			}
			start := time.Now()
			r := newSender(t, loopback).Send(context.Background(), d)
			if r.Attempt.Success || r.Attempt.Error != tt.errCode || r.Attempt.StatusCode != tt.code {
				t.Fatalf("attempt = %+v (err %v), want error %s, status %d", r.Attempt, r.Err, tt.errCode, tt.code)
			}
			if tt.timeout > 0 {
				if el := time.Since(start); el > time.Duration(tt.timeout)*time.Millisecond+time.Second {
					t.Errorf("timeout of %d ms took %v", tt.timeout, el)
				}
				if r.Attempt.DurationMS < int64(tt.timeout)-5 {
					t.Errorf("duration_ms %d < timeout %d", r.Attempt.DurationMS, tt.timeout)
				}
			}
		})
	}
}

func TestSendTruncatesBody(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", delivery.MaxResponseBody-1) + "é" + strings.Repeat("y", 100<<10)
	srv, _ := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, big)
	})
	r := newSender(t, loopback).Send(context.Background(), newDelivery(srv.URL))
	if !r.Attempt.Success {
		t.Fatalf("attempt %+v, err %v", r.Attempt, r.Err)
	}
	// The 2-byte "é" straddles the limit and is dropped whole.
	if want := strings.Repeat("x", delivery.MaxResponseBody-1); r.Attempt.ResponseBody != want {
		t.Errorf("response body has %d bytes, want %d", len(r.Attempt.ResponseBody), len(want))
	}

	// A modest answer is drained, so the connection is reused.
	small, conns := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("z", 10<<10))
	})
	s := newSender(t, loopback)
	for range 5 {
		if r := s.Send(context.Background(), newDelivery(small.URL)); !r.Attempt.Success || len(r.Attempt.ResponseBody) != delivery.MaxResponseBody {
			t.Fatalf("attempt %+v", r.Attempt)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 sequential attempts opened %d connections, want 1 (keep-alive)", n)
	}
}

// resetConn answers a request by resetting its connection.
func resetConn(t *testing.T, w http.ResponseWriter) {
	c, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
}

// newCountingServer starts a loopback receiver that counts the connections
// opened to it.
func newCountingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestSendRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status int
		header string
		want   time.Duration
	}{
		{429, "120", 120 * time.Second},
		{503, "7", 7 * time.Second},
		{500, "120", 0}, // only 429 and 503
		{429, "", 0},
		{429, "soon", 0},
		{429, "99999999", delivery.MaxRetryAfter},
	} {
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			if tt.header != "" {
				w.Header().Set("Retry-After", tt.header)
			}
			w.WriteHeader(tt.status)
		})
		r := newSender(t, loopback).Send(context.Background(), newDelivery(srv.URL))
		if r.Attempt.Success || r.Attempt.StatusCode != tt.status || r.RetryAfter != tt.want {
			t.Errorf("%d Retry-After %q: status %d, RetryAfter %v, want %v", tt.status, tt.header, r.Attempt.StatusCode, r.RetryAfter, tt.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"30", 30 * time.Second, true},
		{" 30 ", 30 * time.Second, true},
		{"Mon, 23 Nov 2026 06:02:00 GMT", 2 * time.Minute, true},
		{"Monday, 23-Nov-26 06:00:10 GMT", 10 * time.Second, true},
		{"Mon, 23 Nov 2026 05:00:00 GMT", 0, true}, // in the past
		{"Sat, 28 Nov 2026 06:00:00 GMT", delivery.MaxRetryAfter, true},
		{"100000", delivery.MaxRetryAfter, true},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"", 0, false},
		{"tomorrow", 0, false},
	} {
		got, ok := delivery.ParseRetryAfter(tt.v, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSendTargetPolicy(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })

	// Loopback is refused at dial time when private targets are not allowed.
	r := newSender(t, &netguard.Policy{AllowHTTP: true}).Send(context.Background(), newDelivery(srv.URL))
	if r.Attempt.Success || r.Attempt.Error != hookd.AttemptErrBlockedTarget {
		t.Fatalf("attempt %+v, err %v; want blocked_target", r.Attempt, r.Err)
	}
	// A name that resolves to loopback is refused too (checked after resolution).
	u := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	r = newSender(t, &netguard.Policy{AllowHTTP: true}).Send(context.Background(), newDelivery(u))
	if r.Attempt.Error != hookd.AttemptErrBlockedTarget {
		t.Fatalf("localhost: attempt %+v, err %v; want blocked_target", r.Attempt, r.Err)
	}
	// http is refused unless allowed.
	r = newSender(t, &netguard.Policy{AllowPrivate: true}).Send(context.Background(), newDelivery(srv.URL))
	if r.Attempt.Error != hookd.AttemptErrBlockedTarget {
		t.Fatalf("http: attempt %+v, err %v; want blocked_target", r.Attempt, r.Err)
	}
	if hits.Load() != 0 {
		t.Fatalf("a blocked target got %d requests", hits.Load())
	}
	// Allowed when the policy allows private targets.
	r = newSender(t, loopback).Send(context.Background(), newDelivery(srv.URL))
	if !r.Attempt.Success || hits.Load() != 1 {
		t.Fatalf("allowed: attempt %+v, err %v, hits %d", r.Attempt, r.Err, hits.Load())
	}
}

func TestSendTLSError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	// The test server's certificate is not trusted by the sender. The
	// longest timeout: a handshake under the race detector on a loaded
	// machine took longer than the usual 2 s, which made it a timeout.
	d := newDelivery(srv.URL)
	d.Webhook.TimeoutMS = hookd.MaxTimeoutMS
	r := newSender(t, loopback).Send(context.Background(), d)
	if r.Attempt.Success || r.Attempt.Error != hookd.AttemptErrTLS {
		t.Fatalf("attempt %+v, err %v; want tls", r.Attempt, r.Err)
	}
}

// A receiver's binary answer is kept as text every store can hold: not
// UTF-8 bytes (each run of them) and NUL become U+FFFD, valid text is
// kept as it is.
func TestSendKeepsStorableBody(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, answer, want string }{
		{"text", "ok é ✓", "ok é ✓"},
		{"binary", "a\xff\xfeb", "a\uFFFDb"}, // a run of bad bytes is one U+FFFD
		{"nul", "a\x00b", "a\uFFFDb"},
		{"both", "\x00\x89PNG", "\uFFFD\uFFFDPNG"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, tt.answer)
			})
			r := newSender(t, loopback).Send(context.Background(), newDelivery(srv.URL))
			if r.Attempt.ResponseBody != tt.want {
				t.Errorf("response body %q, want %q", r.Attempt.ResponseBody, tt.want)
			}
		})
	}
}
