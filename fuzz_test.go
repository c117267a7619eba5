package hookd_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

// FuzzWebhookValidate feeds arbitrary strings into every string field of a
// webhook: Validate must not panic, and a webhook it accepts has a URL that
// normalises and event types that each are a valid pattern.
func FuzzWebhookValidate(f *testing.F) {
	f.Add("orders", "https://example.com/x", "Unit.*", "X-Tenant", "acme", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	f.Add("", "http://[::1]:0/", ".*", "webhook-id", "\n", "short")
	f.Fuzz(func(t *testing.T, name, url, eventType, header, value, secret string) {
		w := hookd.NewWebhookDefaults()
		w.Name, w.URL, w.EventTypes = name, url, []string{eventType}
		w.Headers = map[string][]string{header: {value}}
		w.Filter = map[string]string{header: value}
		w.Secrets = []hookd.Secret{{Value: secret}}
		w.Auth = &hookd.Auth{Type: "basic", Username: value, Password: secret}
		if err := w.Validate(context.Background(), httpsOnly); err != nil {
			if hookd.ErrorCode(err) != hookd.EINVALID {
				t.Fatalf("code %q", hookd.ErrorCode(err))
			}
			return
		}
		if _, err := hookd.NormalizeURL(url); err != nil {
			t.Fatalf("accepted URL %q does not normalise: %v", url, err)
		}
		if !hookd.ValidEventTypePattern(eventType) || hookd.IsSystemHeader(header) || strings.ContainsAny(value, "\r\n") {
			t.Fatalf("accepted %q %q %q", eventType, header, value)
		}
		if len(hookd.SecretKey(secret)) < 16 {
			t.Fatalf("accepted secret %q with a short key", secret)
		}
	})
}
