package delivery

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// The request the sender writes is one well-formed HTTP/1.1 request
// whatever a webhook holds: its custom headers arrive only when they are
// valid and not system headers, nothing else can add a header line, and
// the body arrives whole.
func FuzzRequestHead(f *testing.F) {
	f.Add("/hook", "X-Tenant", "acme", "t0ken", "erp", "s3cret")
	f.Add("/a?b=c", "X-Bad", "a\r\nInjected: yes", "t\r\nInjected: yes", "u:", "p\n")
	f.Add("/%0d%0a", "Webhook-Id", "forged", "", "", "")
	f.Add("/", "Bad Name", "v", "tok en", "ü", "\x00")
	f.Fuzz(func(t *testing.T, path, name, value, token, user, pass string) {
		d := &hookd.Delivery{
			Message: hookd.Message{ID: "msg_1", TenantID: "acme", WebhookID: "wh_1", EventID: "evt_1", EventType: "x"},
			Event:   hookd.Event{ID: "evt_1", TenantID: "acme", Type: "x", Payload: json.RawMessage(`{"a":1}`)},
			Webhook: hookd.Webhook{ID: "wh_1", TenantID: "acme", URL: "http://127.0.0.1:9" + path,
				Headers: map[string][]string{name: {value}}, Secrets: []hookd.Secret{{Value: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}},
		}
		if token != "" {
			d.Webhook.Auth = &hookd.Auth{Type: hookd.AuthBearer, Token: token}
		} else {
			d.Webhook.Auth = &hookd.Auth{Type: hookd.AuthBasic, Username: user, Password: pass}
		}
		s := NewSender(nil, 1, nil)
		s.policy.AllowHTTP = true
		tg, write, err := s.request(d, time.Unix(1795000000, 0))
		if err != nil {
			return // a URL the sender refuses: nothing is written
		}
		raw := write(nil)
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatalf("request does not parse: %v\n%q", err, raw)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatalf("body: %v\n%q", err, raw)
		}
		payload, _ := Body(d)
		if req.Method != http.MethodPost || req.RequestURI != tg.uri || !bytes.Equal(body, payload) {
			t.Fatalf("request %s %s with body %q, want POST %s with %q", req.Method, req.RequestURI, body, tg.uri, payload)
		}
		allowed := map[string]bool{"Content-Type": true, "User-Agent": true, "Webhook-Id": true,
			"Webhook-Timestamp": true, "Webhook-Signature": true, "Authorization": true, "Content-Length": true}
		custom := textproto.CanonicalMIMEHeaderKey(name)
		if hookd.ValidHeaderName(name) && !hookd.IsSystemHeader(name) && hookd.ValidHeaderValue(value) {
			allowed[custom] = true
			// HTTP drops a value's leading and trailing blanks.
			if got, want := req.Header.Values(custom), strings.Trim(value, " \t"); len(got) != 1 || got[0] != want {
				t.Fatalf("custom header %q = %q, want [%q]", custom, got, want)
			}
		}
		for k, vs := range req.Header {
			if !allowed[k] || len(vs) != 1 {
				t.Fatalf("unexpected header %q: %q\n%q", k, vs, raw)
			}
		}
		if req.Header.Get("Webhook-Id") != "msg_1" || req.Header.Get("Content-Type") != "application/json" ||
			req.ContentLength != int64(len(payload)) {
			t.Fatalf("system headers replaced: %v", req.Header)
		}
	})
}
