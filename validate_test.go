package hookd_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// targetFunc is a TargetChecker made of a function.
type targetFunc func(u *url.URL) string

func (f targetFunc) CheckTarget(_ context.Context, u *url.URL) string { return f(u) }

// httpsOnly refuses http:// and the host "blocked.example".
var httpsOnly = targetFunc(func(u *url.URL) string {
	if u.Scheme != "https" {
		return "must use https"
	}
	if u.Hostname() == "blocked.example" {
		return "must not point to a private address"
	}
	return ""
})

func validWebhook() *hookd.Webhook {
	w := hookd.NewWebhookDefaults()
	w.Name = "orders"
	w.URL = "https://example.com/hook"
	w.EventTypes = []string{"Unit.Updated"}
	return w
}

func fieldsOf(err error) []string {
	e, ok := err.(*hookd.Error)
	if !ok {
		return nil
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestWebhookValidate(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("a", n) }
	whsec := func(n int) string { return "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, n)) }
	tests := []struct {
		name   string
		change func(w *hookd.Webhook)
		want   []string // invalid fields, in order; nil: valid
	}{
		{"valid defaults", func(*hookd.Webhook) {}, nil},
		{"name missing", func(w *hookd.Webhook) { w.Name = "" }, []string{"name"}},
		{"name blank", func(w *hookd.Webhook) { w.Name = "  " }, []string{"name"}},
		{"name 255", func(w *hookd.Webhook) { w.Name = long(255) }, nil},
		{"name 256", func(w *hookd.Webhook) { w.Name = long(256) }, []string{"name"}},
		{"name 255 runes", func(w *hookd.Webhook) { w.Name = strings.Repeat("ü", 255) }, nil},
		{"description 1000", func(w *hookd.Webhook) { w.Description = long(1000) }, nil},
		{"description 1001", func(w *hookd.Webhook) { w.Description = long(1001) }, []string{"description"}},
		{"url missing", func(w *hookd.Webhook) { w.URL = "" }, []string{"url"}},
		{"url relative", func(w *hookd.Webhook) { w.URL = "/hook" }, []string{"url"}},
		{"url ftp", func(w *hookd.Webhook) { w.URL = "ftp://example.com/" }, []string{"url"}},
		{"url no host", func(w *hookd.Webhook) { w.URL = "https:///x" }, []string{"url"}},
		{"url opaque", func(w *hookd.Webhook) { w.URL = "https:example.com" }, []string{"url"}},
		{"url garbage", func(w *hookd.Webhook) { w.URL = "ht tp://x" }, []string{"url"}},
		{"url credentials", func(w *hookd.Webhook) { w.URL = "https://u:p@example.com/" }, []string{"url"}},
		{"url unicode host", func(w *hookd.Webhook) { w.URL = "https://bücher.example/" }, []string{"url"}},
		{"url punycode host", func(w *hookd.Webhook) { w.URL = "https://xn--bcher-kva.example/" }, nil},
		{"url port 0", func(w *hookd.Webhook) { w.URL = "https://example.com:0/" }, []string{"url"}},
		{"url port big", func(w *hookd.Webhook) { w.URL = "https://example.com:70000/" }, []string{"url"}},
		{"url upper-case scheme", func(w *hookd.Webhook) { w.URL = "HTTPS://Example.com/" }, nil},
		{"url http refused by policy", func(w *hookd.Webhook) { w.URL = "http://example.com/" }, []string{"url"}},
		{"url blocked by policy", func(w *hookd.Webhook) { w.URL = "https://blocked.example/" }, []string{"url"}},
		{"url space in path", func(w *hookd.Webhook) { w.URL = "https://example.com/a b" }, []string{"url"}},
		{"url space in query", func(w *hookd.Webhook) { w.URL = "https://example.com/?q=a b" }, []string{"url"}},
		{"url encoded space", func(w *hookd.Webhook) { w.URL = "https://example.com/a%20b?q=a+b" }, nil},
		{"url zone", func(w *hookd.Webhook) { w.URL = "https://[fe80::1%25eth0]/" }, []string{"url"}},
		{"url decimal IPv4", func(w *hookd.Webhook) { w.URL = "https://2130706433/" }, []string{"url"}},
		{"url trailing dot name", func(w *hookd.Webhook) { w.URL = "https://example.com./" }, nil},
		{"url 2048", func(w *hookd.Webhook) { w.URL = "https://example.com/" + long(2048-20) }, nil},
		{"url 2049", func(w *hookd.Webhook) { w.URL = "https://example.com/" + long(2049-20) }, []string{"url"}},
		{"event types empty", func(w *hookd.Webhook) { w.EventTypes = nil }, []string{"event_types"}},
		{"event types patterns", func(w *hookd.Webhook) {
			w.EventTypes = []string{"*", "all", "Unit.*", "log.door_was_opened", "a:b-c"}
		}, nil},
		{"event types bad items", func(w *hookd.Webhook) {
			w.EventTypes = []string{"ok", "", "a b", ".*", "Unit.**", "x*", long(256)}
		}, []string{"event_types[1]", "event_types[2]", "event_types[3]", "event_types[4]", "event_types[5]", "event_types[6]"}},
		{"event types 100", func(w *hookd.Webhook) { w.EventTypes = slices.Repeat([]string{"a"}, 100) }, nil},
		{"event types 101", func(w *hookd.Webhook) { w.EventTypes = slices.Repeat([]string{"a"}, 101) }, []string{"event_types"}},
		{"filter ok", func(w *hookd.Webhook) { w.Filter = map[string]string{"party_id": "42"} }, nil},
		{"filter empty value", func(w *hookd.Webhook) { w.Filter = map[string]string{"party_id": ""} }, []string{"filter.party_id"}},
		{"filter empty key", func(w *hookd.Webhook) { w.Filter = map[string]string{"": "1"} }, []string{"filter"}},
		{"filter long value", func(w *hookd.Webhook) { w.Filter = map[string]string{"k": long(1001)} }, []string{"filter.k"}},
		{"headers ok", func(w *hookd.Webhook) {
			w.Headers = map[string][]string{"X-Tenant": {"acme", "two\tparts"}, "X~!#$%&'*+-.^_`|": {""}}
		}, nil},
		{"header bad name", func(w *hookd.Webhook) { w.Headers = map[string][]string{"X Tenant": {"a"}} }, []string{"headers.X Tenant"}},
		{"header bad value", func(w *hookd.Webhook) { w.Headers = map[string][]string{"X-Tenant": {"ok", "line\nbreak"}} }, []string{"headers.X-Tenant[1]"}},
		{"header non-ascii value", func(w *hookd.Webhook) { w.Headers = map[string][]string{"X-Tenant": {"ä"}} }, []string{"headers.X-Tenant[0]"}},
		{"header no values", func(w *hookd.Webhook) { w.Headers = map[string][]string{"X-Tenant": {}} }, []string{"headers.X-Tenant"}},
		{"system headers", func(w *hookd.Webhook) {
			w.Headers = map[string][]string{"Authorization": {"x"}, "HOST": {"x"}, "Webhook-Id": {"x"}, "webhook-foo": {"x"}, "X-Forwarded-For": {"x"}}
		}, []string{"headers.Authorization", "headers.HOST", "headers.Webhook-Id", "headers.X-Forwarded-For", "headers.webhook-foo"}},
		{"header duplicate case", func(w *hookd.Webhook) { w.Headers = map[string][]string{"X-A": {"1"}, "x-a": {"2"}} }, []string{"headers.x-a"}},
		{"auth basic ok", func(w *hookd.Webhook) { w.Auth = &hookd.Auth{Type: "basic", Username: "u", Password: "p"} }, nil},
		{"auth basic missing", func(w *hookd.Webhook) { w.Auth = &hookd.Auth{Type: "basic"} }, []string{"auth.username", "auth.password"}},
		{"auth basic colon", func(w *hookd.Webhook) { w.Auth = &hookd.Auth{Type: "basic", Username: "a:b", Password: "p"} }, []string{"auth.username"}},
		{"auth basic with token", func(w *hookd.Webhook) {
			w.Auth = &hookd.Auth{Type: "basic", Username: "u", Password: "p", Token: "t"}
		}, []string{"auth.token"}},
		{"auth bearer ok", func(w *hookd.Webhook) { w.Auth = &hookd.Auth{Type: "bearer", Token: "abc.def"} }, nil},
		{"auth bearer missing", func(w *hookd.Webhook) { w.Auth = &hookd.Auth{Type: "bearer"} }, []string{"auth.token"}},
		{"auth bearer space", func(w *hookd.Webhook) { w.Auth = &hookd.Auth{Type: "bearer", Token: "a b"} }, []string{"auth.token"}},
		{"auth bearer with password", func(w *hookd.Webhook) {
			w.Auth = &hookd.Auth{Type: "bearer", Token: "t", Password: "p"}
		}, []string{"auth.password"}},
		{"auth type missing", func(w *hookd.Webhook) { w.Auth = &hookd.Auth{} }, []string{"auth.type"}},
		{"auth type unknown", func(w *hookd.Webhook) { w.Auth = &hookd.Auth{Type: "digest"} }, []string{"auth.type"}},
		{"secrets ok", func(w *hookd.Webhook) {
			w.Secrets = []hookd.Secret{{Value: hookd.NewSecret()}, {Value: "0123456789abcdef"}}
		}, nil},
		{"secrets three", func(w *hookd.Webhook) {
			w.Secrets = []hookd.Secret{{Value: hookd.NewSecret()}, {Value: hookd.NewSecret()}, {Value: hookd.NewSecret()}}
		}, []string{"secrets"}},
		{"secrets bad", func(w *hookd.Webhook) {
			w.Secrets = []hookd.Secret{{Value: "short"}, {Value: "whsec_!!!"}}
		}, []string{"secrets[0]", "secrets[1]"}},
		{"secret whsec too short", func(w *hookd.Webhook) { w.Secrets = []hookd.Secret{{Value: whsec(8)}} }, []string{"secrets[0]"}},
		{"secret whsec 64", func(w *hookd.Webhook) { w.Secrets = []hookd.Secret{{Value: whsec(64)}} }, nil},
		{"secret whsec 65", func(w *hookd.Webhook) { w.Secrets = []hookd.Secret{{Value: whsec(65)}} }, []string{"secrets[0]"}},
		{"secret plain 128", func(w *hookd.Webhook) { w.Secrets = []hookd.Secret{{Value: long(128)}} }, nil},
		{"secret plain 129", func(w *hookd.Webhook) { w.Secrets = []hookd.Secret{{Value: long(129)}} }, []string{"secrets[0]"}},
		{"secret plain control", func(w *hookd.Webhook) { w.Secrets = []hookd.Secret{{Value: long(16) + "\x01"}} }, []string{"secrets[0]"}},
		{"timeout bounds ok", func(w *hookd.Webhook) { w.TimeoutMS = 30000 }, nil},
		{"timeout low", func(w *hookd.Webhook) { w.TimeoutMS = 999 }, []string{"timeout_ms"}},
		{"timeout high", func(w *hookd.Webhook) { w.TimeoutMS = 30001 }, []string{"timeout_ms"}},
		{"max retries 0", func(w *hookd.Webhook) { w.MaxRetries = 0 }, nil},
		{"max retries 11", func(w *hookd.Webhook) { w.MaxRetries = 11 }, []string{"max_retries"}},
		{"max retries negative", func(w *hookd.Webhook) { w.MaxRetries = -1 }, []string{"max_retries"}},
		{"retry schedule ok", func(w *hookd.Webhook) {
			w.RetrySchedule = []hookd.Duration{hookd.Duration(time.Second), hookd.Duration(24 * time.Hour)}
		}, nil},
		{"retry schedule bad items", func(w *hookd.Webhook) {
			w.RetrySchedule = []hookd.Duration{hookd.Duration(time.Second), 0, hookd.Duration(-time.Second), hookd.Duration(25 * time.Hour)}
		}, []string{"retry_schedule[1]", "retry_schedule[2]", "retry_schedule[3]"}},
		{"retry schedule too long", func(w *hookd.Webhook) {
			w.RetrySchedule = slices.Repeat([]hookd.Duration{hookd.Duration(time.Second)}, 21)
		}, []string{"retry_schedule"}},
		{"continue on failure without grouped", func(w *hookd.Webhook) { w.ContinueOnFailure = true }, nil},
		{"suspend after 0", func(w *hookd.Webhook) { w.FailureHandling.SuspendAfter = 0 }, nil},
		{"suspend after negative", func(w *hookd.Webhook) {
			w.FailureHandling.SuspendAfter = hookd.Duration(-time.Hour)
		}, []string{"failure_handling.suspend_after"}},
		{"rate limit 0", func(w *hookd.Webhook) { w.RateLimit = 0 }, nil},
		{"rate limit negative", func(w *hookd.Webhook) { w.RateLimit = -1 }, []string{"rate_limit"}},
		{"max in flight default", func(w *hookd.Webhook) { w.MaxInFlight = 0 }, nil},
		{"max in flight 1000", func(w *hookd.Webhook) { w.MaxInFlight = 1000 }, nil},
		{"max in flight 1001", func(w *hookd.Webhook) { w.MaxInFlight = 1001 }, []string{"max_in_flight"}},
		{"max in flight negative", func(w *hookd.Webhook) { w.MaxInFlight = -1 }, []string{"max_in_flight"}},
		{"many at once", func(w *hookd.Webhook) {
			w.Name, w.URL, w.TimeoutMS, w.MaxRetries, w.EventTypes = "", "x", 1, 99, nil
		}, []string{"name", "url", "event_types", "timeout_ms", "max_retries"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := validWebhook()
			tt.change(w)
			err := w.Validate(context.Background(), httpsOnly)
			if got := fieldsOf(err); !slices.Equal(got, tt.want) {
				t.Fatalf("invalid fields = %v, want %v (err %v)", got, tt.want, err)
			}
			if tt.want != nil && hookd.ErrorCode(err) != hookd.EINVALID {
				t.Fatalf("code = %q, want %q", hookd.ErrorCode(err), hookd.EINVALID)
			}
		})
	}
}

func TestWebhookValidateNilTargets(t *testing.T) {
	t.Parallel()
	w := validWebhook()
	w.URL = "http://127.0.0.1:9/x"
	if err := w.Validate(context.Background(), nil); err != nil {
		t.Fatalf("Validate without checker: %v", err)
	}
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	a, b := hookd.NewSecret(), hookd.NewSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	if !strings.HasPrefix(a, "whsec_") {
		t.Fatalf("secret %q lacks whsec_", a)
	}
	if msg := hookd.CheckSecret(a); !msg.IsZero() {
		t.Fatalf("new secret invalid: %s", msg)
	}
	if got := len(hookd.SecretKey(a)); got != 32 {
		t.Fatalf("key length = %d, want 32", got)
	}
}

func TestSecretKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ secret, want string }{
		{"whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef")), "0123456789abcdef"},
		{"plain-secret-of-16+", "plain-secret-of-16+"},
		{"whsec_not base64!", "whsec_not base64!"},
	}
	for _, tt := range tests {
		if got := string(hookd.SecretKey(tt.secret)); got != tt.want {
			t.Errorf("SecretKey(%q) = %q, want %q", tt.secret, got, tt.want)
		}
	}
}

func TestIsSystemHeader(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"Host": true, "content-type": true, "User-Agent": true, "webhook-signature": true,
		"Webhook-Anything": true, "X-Tenant": false, "Webhooks": false, "ETag": true,
	} {
		if got := hookd.IsSystemHeader(name); got != want {
			t.Errorf("IsSystemHeader(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestEventInputCheck(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("k", n) }
	tests := []struct {
		name string
		in   hookd.EventInput
		want []string
	}{
		{"valid", hookd.EventInput{Type: "Unit.Updated", Payload: json.RawMessage(`{"id":1}`),
			Group: "g", Attributes: map[string]string{"party_id": "42"}, IdempotencyKey: "erp-1"}, nil},
		{"type missing", hookd.EventInput{Payload: json.RawMessage(`null`)}, []string{"events[3].type"}},
		{"type bad", hookd.EventInput{Type: "a b"}, []string{"events[3].type"}},
		{"type 255", hookd.EventInput{Type: long(255)}, nil},
		{"type 256", hookd.EventInput{Type: long(256)}, []string{"events[3].type"}},
		{"payload too big", hookd.EventInput{Type: "t", Payload: json.RawMessage(`"` + long(20) + `"`)}, []string{"events[3].payload"}},
		{"group too long", hookd.EventInput{Type: "t", Group: long(256)}, []string{"events[3].group"}},
		{"key too long", hookd.EventInput{Type: "t", IdempotencyKey: long(256)}, []string{"events[3].idempotency_key"}},
		{"key control", hookd.EventInput{Type: "t", IdempotencyKey: "a\nb"}, []string{"events[3].idempotency_key"}},
		{"attribute empty key", hookd.EventInput{Type: "t", Attributes: map[string]string{"": "x"}}, []string{"events[3].attributes"}},
		{"attribute long value", hookd.EventInput{Type: "t", Attributes: map[string]string{"k": long(1001)}}, []string{"events[3].attributes.k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var f hookd.Fields
			tt.in.Check("events[3].", 16, &f)
			var got []string
			for _, e := range f {
				got = append(got, e.Field)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("fields = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckHost(t *testing.T) {
	t.Parallel()
	const (
		zone     = "must not have an IPv6 zone (%25...)"
		spelling = "must write an IPv4 address as four decimal numbers (a.b.c.d)"
		name     = `must have a host name of letters, digits, "-" and "_" (labels of 1..63 characters)`
	)
	for _, tt := range []struct{ host, want string }{
		{"example.com", ""},
		{"example.com.", ""},
		{"Example.COM", ""},
		{"a-b_c.example", ""},
		{"xn--bcher-kva.example", ""},
		{"example.com1", ""}, // a letter in the last label: a name
		{"1.example", ""},
		{"93.184.216.34", ""},
		{"::1", ""}, // an address: the target policy judges it
		{"2606:4700::1111", ""},
		{"::ffff:127.0.0.1", ""},
		{"::1%lo", zone},
		{"fe80::1%eth0", zone},
		{"::ffff:127.0.0.1%1", zone},
		{"2130706433", spelling},
		{"017700000001", spelling},
		{"0x7f000001", spelling},
		{"0x7f.1", spelling},
		{"0X7F.0.0.1", spelling},
		{"0177.0.0.1", spelling},
		{"127.1", spelling},
		{"127.0.1", spelling},
		{"127.000.000.001", spelling},
		{"127.0.0.1.", spelling},
		{"1.2.3.4.5", spelling},
		{"example.0x", spelling},
		{"0", spelling},
		{"a..b", name},
		{".example", name},
		{"example..", name},
		{"exa!mple.com", name},
		{strings.Repeat("a", 64) + ".example", name},
		{strings.Repeat("a.", 127) + "ab", name}, // 255 characters
	} {
		if got := hookd.CheckHost(tt.host); got != tt.want {
			t.Errorf("CheckHost(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
}
