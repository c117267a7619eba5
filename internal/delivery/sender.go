package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/netguard"
)

// MaxResponseBody is how much of a receiver's answer is kept with the
// attempt.
const MaxResponseBody = 4 << 10

// maxDrain is how much more of an answer is read and thrown away so the
// connection can carry the next request; a longer answer closes it.
const maxDrain = 64 << 10

// MaxRetryAfter caps how long a receiver's Retry-After may postpone a retry.
const MaxRetryAfter = 24 * time.Hour

// Result is the outcome of one HTTP attempt.
type Result struct {
	// Attempt is filled in except Number (the store assigns it): ID,
	// tenant, message, webhook, trigger, start, duration, status code,
	// error code (hookd.AttemptErr*), the first MaxResponseBody bytes of
	// the answer, success.
	Attempt hookd.Attempt
	// RetryAfter is the receiver's Retry-After of a 429 or 503 answer
	// (capped at MaxRetryAfter), 0 when absent.
	RetryAfter time.Duration
	// Duration is how long the attempt took (Attempt.DurationMS in full).
	Duration time.Duration
	// Err is the underlying error of a failed attempt, for logs; nil on
	// success and for a plain non-2xx answer.
	Err error
}

// Sender makes delivery attempts: one signed POST per attempt, on an HTTP
// client (client.go) that dials only addresses the target policy allows
// (checked on the very address dialled, so DNS rebinding is refused), keeps
// connections to each target alive, never follows redirects and never uses
// a proxy.
type Sender struct {
	client *client
	policy *netguard.Policy
	now    func() time.Time
}

// NewSender returns a sender that enforces policy (nil: the strictest, no
// http and no private targets) and keeps up to connsPerHost idle
// connections per target (size it to the number of workers). now is the
// clock of signatures and attempt start times (nil: time.Now).
func NewSender(policy *netguard.Policy, connsPerHost int, now func() time.Time) *Sender {
	if policy == nil {
		policy = &netguard.Policy{}
	}
	if now == nil {
		now = time.Now
	}
	if connsPerHost < 2 {
		connsPerHost = 2
	}
	return &Sender{
		client: &client{
			dialer: &net.Dialer{
				Timeout:   30 * time.Second, // the attempt's context is shorter
				KeepAlive: 30 * time.Second,
				// Every dial (deliveries and /test alike: client.dial is
				// the only one) runs the guard on the address it
				// connects to. No proxy either: it would dial on our
				// behalf.
				ControlContext: guard(policy.Control),
				Resolver:       policy.DialResolver,
			},
			tls:         &tls.Config{MinVersion: tls.VersionTLS12},
			maxIdle:     connsPerHost,
			idleTimeout: 90 * time.Second,
		},
		policy: policy,
		now:    now,
	}
}

// CloseIdleConnections closes the kept-alive connections.
func (s *Sender) CloseIdleConnections() { s.client.closeIdle() }

// Send makes one attempt of d within the webhook's timeout_ms (connect,
// write and read; default hookd.DefaultTimeoutMS) and reports it. Success is
// a 2xx; a 3xx is the error redirect, any other status http_status; network
// failures are timeout, connection_refused, connection_reset, tls, dns,
// blocked_target or network. When ctx itself ends, Err wraps ctx.Err().
func (s *Sender) Send(ctx context.Context, d *hookd.Delivery) Result {
	return s.send(ctx, d, time.Time{})
}

// send is Send with the attempt's start time given (zero: now).
func (s *Sender) send(ctx context.Context, d *hookd.Delivery, started time.Time) (r Result) {
	if started.IsZero() {
		started = s.now()
	}
	mono := time.Now()
	r = Result{Attempt: hookd.Attempt{
		ID:        hookd.NewID(hookd.PrefixAttempt),
		TenantID:  d.Message.TenantID,
		MessageID: d.Message.ID,
		WebhookID: d.Message.WebhookID,
		Trigger:   d.Trigger,
		StartedAt: started,
	}}
	if r.Attempt.WebhookID == "" {
		r.Attempt.WebhookID = d.Webhook.ID
	}
	if r.Attempt.Trigger == "" {
		r.Attempt.Trigger = hookd.TriggerScheduled
	}
	defer func() {
		r.Duration = time.Since(mono)
		r.Attempt.DurationMS = r.Duration.Milliseconds()
	}()

	timeout := time.Duration(d.Webhook.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = hookd.DefaultTimeoutMS * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	t, write, err := s.request(d, started)
	if err != nil {
		r.Attempt.Error, r.Err = classify(ctx, err), err
		return r
	}
	a, err := s.client.post(ctx, t, write)
	if err != nil {
		r.Attempt.Error, r.Err = classify(ctx, err), err
		return r
	}
	r.Attempt.StatusCode = a.status
	r.Attempt.ResponseBody = storable(trimRune(a.body))
	err = a.bodyErr
	switch {
	case a.status >= 300 && a.status < 400:
		r.Attempt.Error = hookd.AttemptErrRedirect
	case a.status < 200 || a.status >= 300:
		r.Attempt.Error = hookd.AttemptErrStatus
		if a.status == http.StatusTooManyRequests || a.status == http.StatusServiceUnavailable {
			r.RetryAfter, _ = ParseRetryAfter(a.header.Get("Retry-After"), s.now())
		}
	case err != nil && len(a.body) < MaxResponseBody:
		// A 2xx whose body broke off before MaxResponseBody: the receiver
		// answered but the exchange did not finish within the timeout.
		r.Attempt.Error, r.Err = classify(ctx, err), err
	default:
		r.Attempt.Success = true
	}
	return r
}

// request returns where the signed POST of d at time now goes, and a
// func that appends the whole request to a buffer: the request line, the
// webhook's custom headers, then hookd's own (which no custom header can
// replace), and the body.
func (s *Sender) request(d *hookd.Delivery, now time.Time) (target, func([]byte) []byte, error) {
	u, err := url.Parse(d.Webhook.URL)
	if err != nil {
		return target{}, nil, fmt.Errorf("parse webhook url: %w", err)
	}
	// The scheme and the host as written (a zone, an IPv4 address not
	// written a.b.c.d, a private address), also for a URL stored before
	// a rule existed; the dialer's guard judges what a name resolves to.
	if err := s.policy.CheckURL(u); err != nil {
		return target{}, nil, err
	}
	if u.Host == "" || !hookd.ValidHeaderValue(u.Host) {
		return target{}, nil, fmt.Errorf("webhook url %q has no valid host", u.Redacted())
	}
	payload, err := Body(d)
	if err != nil {
		return target{}, nil, err
	}
	t := parseTarget(u)
	sig := NewSigner(d.Webhook.Secrets, now).Sign(d.Message.ID, now, payload)
	var auth string
	if a := d.Webhook.Auth; a != nil {
		switch a.Type {
		case hookd.AuthBasic:
			auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(a.Username+":"+a.Password))
		case hookd.AuthBearer:
			auth = "Bearer " + a.Token
		}
		if !hookd.ValidHeaderValue(auth) {
			auth = "" // validation refuses such a token when it is stored
		}
	}
	write := func(b []byte) []byte {
		b = append(b, "POST "...)
		b = append(b, t.uri...)
		b = append(b, " HTTP/1.1\r\n"...)
		b = appendHeader(b, "Host", t.host)
		for name, values := range d.Webhook.Headers {
			// Validation refuses these when the webhook is stored; a
			// request never carries a line break from one anyway.
			if hookd.IsSystemHeader(name) || !hookd.ValidHeaderName(name) {
				continue
			}
			name = textproto.CanonicalMIMEHeaderKey(name)
			for _, v := range values {
				if hookd.ValidHeaderValue(v) {
					b = appendHeader(b, name, v)
				}
			}
		}
		b = appendHeader(b, "Content-Type", "application/json")
		b = appendHeader(b, "User-Agent", "hookd/"+hookd.Version)
		b = appendHeader(b, "Webhook-Id", d.Message.ID)
		b = append(b, "Webhook-Timestamp: "...)
		b = strconv.AppendInt(b, now.Unix(), 10)
		b = append(b, "\r\n"...)
		if sig != "" {
			b = appendHeader(b, "Webhook-Signature", sig)
		}
		if auth != "" {
			b = appendHeader(b, "Authorization", auth)
		}
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(payload)), 10)
		b = append(b, "\r\n\r\n"...)
		return append(b, payload...)
	}
	return t, write, nil
}

func appendHeader(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// classify maps an attempt's error to a hookd.AttemptErr* code. ctx is the
// attempt's context, whose deadline is the webhook's timeout.
func classify(ctx context.Context, err error) string {
	var (
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
		uaErr   x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
		netErr  net.Error
	)
	switch {
	case errors.Is(err, netguard.ErrBlocked):
		return hookd.AttemptErrBlockedTarget
	case errors.As(err, &dnsErr):
		if dnsErr.IsTimeout && !dnsErr.IsNotFound {
			return hookd.AttemptErrTimeout
		}
		return hookd.AttemptErrDNS
	case errors.Is(err, context.DeadlineExceeded), errors.Is(ctx.Err(), context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return hookd.AttemptErrTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return hookd.AttemptErrRefused
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &alert),
		errors.As(err, &uaErr), errors.As(err, &hostErr), errors.As(err, &invErr),
		strings.Contains(err.Error(), "tls: "):
		return hookd.AttemptErrTLS
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return hookd.AttemptErrReset
	}
	return hookd.AttemptErrNetwork
}

// trimRune returns b as a string without a multi-byte character that the
// size limit cut in two.
func trimRune(b []byte) string {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < utf8.RuneSelf { // ASCII: nothing cut
			break
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-i:]) {
				b = b[:len(b)-i]
			}
			break
		}
	}
	return string(b)
}

// storable returns s as text every store can keep: bytes that are not
// UTF-8 and NUL (which PostgreSQL's text refuses, so a receiver answering
// with binary bytes made recording the attempt fail) become U+FFFD. The
// body is kept for people to read, not to be parsed back.
func storable(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// ParseRetryAfter reads a Retry-After header value: delay seconds or an HTTP
// date (relative to now). It reports false for an absent or malformed
// value; a date in the past is 0, anything longer than MaxRetryAfter is
// MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter, true
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, 0), MaxRetryAfter), true
}
