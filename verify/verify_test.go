package verify_test

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.uber.org/goleak"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/verify"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	secretA = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // the spec's example
	secretB = "whsec_dGhlIG5ldyBzZWNyZXQgYWZ0ZXIgcm90YXRpb24="
	plain   = "a-plain-secret-of-some-length"
)

// signed returns the headers hookd's own signer writes for body, signed
// with secrets at ts.
func signed(id string, ts time.Time, body []byte, secrets ...string) http.Header {
	var s []hookd.Secret
	for _, v := range secrets {
		s = append(s, hookd.Secret{Value: v})
	}
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", delivery.NewSigner(s, ts).Sign(id, ts, body))
	return h
}

// reference verifies with the Standard Webhooks reference library, which
// takes one secret: a whsec_ one as base64, a plain one as its bytes.
func reference(t *testing.T, secret string, h http.Header, body []byte) error {
	t.Helper()
	var wh *standardwebhooks.Webhook
	var err error
	if len(secret) > 6 && secret[:6] == "whsec_" {
		wh, err = standardwebhooks.NewWebhook(secret)
	} else {
		wh, err = standardwebhooks.NewWebhookRaw([]byte(secret))
	}
	if err != nil {
		t.Fatal(err)
	}
	return wh.Verify(body, h)
}

// TestVerify checks signatures made by hookd's signer with verify and, on
// the same request, with the reference library: both must agree.
func TestVerify(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"msg_1","event_id":"evt_1","type":"Unit.Updated","timestamp":"2026-11-23T06:00:00Z","tenant_id":"acme","data":{"id":17}}`)
	now := time.Now()
	with := func(h http.Header, kv ...string) http.Header {
		c := h.Clone()
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				c.Del(kv[i])
			} else {
				c.Set(kv[i], kv[i+1])
			}
		}
		return c
	}
	one := signed("msg_1", now, body, secretA)
	two := signed("msg_1", now, body, secretB, secretA) // mid-rotation: new first
	for _, tc := range []struct {
		name    string
		secrets []string
		header  http.Header
		body    []byte
		want    error // nil: valid
	}{
		{"whsec secret", []string{secretA}, one, body, nil},
		{"plain secret", []string{plain}, signed("msg_1", now, body, plain), body, nil},
		{"rotation, old secret known", []string{secretA}, two, body, nil},
		{"rotation, new secret known", []string{secretB}, two, body, nil},
		{"rotation, both known", []string{secretB, secretA}, two, body, nil},
		{"receiver rotated first", []string{secretB, secretA}, one, body, nil},
		{"4 minutes old", []string{secretA}, signed("msg_1", now.Add(-4*time.Minute), body, secretA), body, nil},
		{"4 minutes ahead", []string{secretA}, signed("msg_1", now.Add(4*time.Minute), body, secretA), body, nil},
		{"wrong secret", []string{secretB}, one, body, verify.ErrNoMatch},
		{"plain secret taken for base64", []string{"whsec_" + "YS1wbGFpbi1zZWNyZXQtb2Ytc29tZS1sZW5ndGg="}, signed("msg_1", now, body, plain), body, nil},
		{"tampered body", []string{secretA}, one, bytes.Replace(body, []byte("17"), []byte("18"), 1), verify.ErrNoMatch},
		{"body with a trailing newline", []string{secretA}, one, append(append([]byte(nil), body...), '\n'), verify.ErrNoMatch},
		{"tampered id", []string{secretA}, with(one, "webhook-id", "msg_2"), body, verify.ErrNoMatch},
		{"tampered timestamp", []string{secretA}, with(one, "webhook-timestamp", strconv.FormatInt(now.Unix()-1, 10)), body, verify.ErrNoMatch},
		{"6 minutes old", []string{secretA}, signed("msg_1", now.Add(-6*time.Minute), body, secretA), body, verify.ErrTooOld},
		{"6 minutes ahead", []string{secretA}, signed("msg_1", now.Add(6*time.Minute), body, secretA), body, verify.ErrTooNew},
		{"no id", []string{secretA}, with(one, "webhook-id", ""), body, verify.ErrMissingHeader},
		{"no timestamp", []string{secretA}, with(one, "webhook-timestamp", ""), body, verify.ErrMissingHeader},
		{"no signature", []string{secretA}, with(one, "webhook-signature", ""), body, verify.ErrMissingHeader},
		{"timestamp in milliseconds", []string{secretA}, with(one, "webhook-timestamp", strconv.FormatInt(now.UnixMilli(), 10)), body, verify.ErrTooNew},
		{"timestamp not a number", []string{secretA}, with(one, "webhook-timestamp", "yesterday"), body, verify.ErrInvalidTimestamp},
		{"only another scheme", []string{secretA}, with(one, "webhook-signature", "v1a,"+one.Get("webhook-signature")[3:]), body, verify.ErrNoMatch},
		{"signature not base64", []string{secretA}, with(one, "webhook-signature", "v1,???"), body, verify.ErrNoMatch},
		{"a bad signature before a good one", []string{secretA}, with(one, "webhook-signature", "v1,AAAA "+one.Get("webhook-signature")), body, nil},
	} {
		v, err := verify.New(tc.secrets...)
		if err != nil {
			t.Fatalf("%s: New: %v", tc.name, err)
		}
		err = v.Verify(tc.header, tc.body)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
		// The reference library accepts if any of the secrets does.
		var refErr error
		for _, s := range tc.secrets {
			if refErr = reference(t, s, tc.header, tc.body); refErr == nil {
				break
			}
		}
		if (refErr == nil) != (tc.want == nil) {
			t.Errorf("%s: the reference library says %v, verify %v", tc.name, refErr, err)
		}
	}
}

func TestNewRefusesBadSecrets(t *testing.T) {
	t.Parallel()
	for _, secrets := range [][]string{nil, {""}, {secretA, ""}, {"whsec_not base64!"}, {"whsec_"}} {
		if _, err := verify.New(secrets...); err == nil {
			t.Errorf("New(%q): no error", secrets)
		}
	}
}

func TestTolerance(t *testing.T) {
	t.Parallel()
	body := []byte(`{}`)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	h := signed("msg_1", at, body, secretA)
	v, err := verify.New(secretA)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tolerance time.Duration
		now       time.Time
		want      error
	}{
		{0, at.Add(5 * time.Minute), nil},
		{0, at.Add(5*time.Minute + time.Second), verify.ErrTooOld},
		{0, at.Add(-5 * time.Minute), nil},
		{0, at.Add(-5*time.Minute - time.Second), verify.ErrTooNew},
		{time.Hour, at.Add(59 * time.Minute), nil},
		{time.Minute, at.Add(2 * time.Minute), verify.ErrTooOld},
	} {
		v.Tolerance, v.Now = tc.tolerance, func() time.Time { return tc.now }
		if err := v.Verify(h, body); tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("tolerance %v at %v: %v, want %v", tc.tolerance, tc.now.Sub(at), err, tc.want)
		}
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	e, err := verify.Decode([]byte(`{"id":"msg_1","event_id":"evt_1","type":"Unit.Updated","timestamp":"2026-11-23T06:00:00.123Z","tenant_id":"acme","group":"g","data":{"id":17},"new_field":1}`))
	if err != nil {
		t.Fatal(err)
	}
	want := verify.Envelope{ID: "msg_1", EventID: "evt_1", Type: "Unit.Updated", Timestamp: time.Date(2026, 11, 23, 6, 0, 0, 123e6, time.UTC),
		TenantID: "acme", Group: "g"}
	if e.ID != want.ID || e.EventID != want.EventID || e.Type != want.Type || !e.Timestamp.Equal(want.Timestamp) ||
		e.TenantID != want.TenantID || e.Group != want.Group || string(e.Data) != `{"id":17}` {
		t.Fatalf("Decode = %+v", e)
	}
	for _, bad := range []string{``, `[]`, `{"id":"msg_1"}`, `{"id":1}`, `not json`} {
		if _, err := verify.Decode([]byte(bad)); !errors.Is(err, verify.ErrMalformed) {
			t.Errorf("Decode(%s) = %v, want ErrMalformed", bad, err)
		}
	}
}
