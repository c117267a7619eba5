package verify_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/verify"
)

// FuzzVerify signs a body with hookd's own signer under a fuzzed secret,
// id and time, and then verifies both it and a fuzzed request made from
// it: a secret hookd takes is one verify takes, what hookd signed within
// the tolerance verifies, and a request verifies only when the bytes its
// signature covers ("<id>.<timestamp>.<body>") are the ones hookd signed:
// fuzzed headers, body and signatures never pass on their own. Every
// refusal wraps one of the package's errors, which Handler answers 4xx.
func FuzzVerify(f *testing.F) {
	body := `{"id":"msg_1","event_id":"evt_1","type":"Unit.Updated","timestamp":"2026-11-23T06:00:00Z","tenant_id":"acme","data":{"id":17}}`
	for _, s := range []string{secretA, secretB, plain, "whsec_", "whsec_not base64!", "", "whsec_YS1wbGFpbi1zZWNyZXQtb2Ytc29tZS1sZW5ndGg=",
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} {
		f.Add(s, "msg_1", int64(0), []byte(body), "msg_1", "", []byte(body), "")
	}
	f.Add(secretA, "msg_1", int64(-299), []byte(body), "msg_2", "", []byte(body), "v1,AAAA")
	f.Add(secretA, "msg_1", int64(299), []byte(body), "msg_1", " 1700000000 ", []byte(body+"\n"), "v1a,xyz v2,abc")
	f.Add(plain, "msg_1.1", int64(0), []byte("x"), "msg_1", "+1", []byte("1.x"), "v1,??? v1,")
	f.Add(plain, "a", int64(10), []byte{}, "a", "0x10", []byte{0}, "v1,"+strings.Repeat("A", 44))

	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, secret, id string, offset int64, body []byte, id2, ts2 string, body2 []byte, sig2 string) {
		v, err := verify.New(secret)
		if err != nil {
			if hookd.CheckSecret(secret).IsZero() {
				t.Fatalf("hookd takes the secret %q, verify refuses it: %v", secret, err)
			}
			return
		}
		v.Now = func() time.Time { return now }
		tol := int64(verify.DefaultTolerance / time.Second)
		offset %= tol + 1 // within the tolerance, either way
		at := now.Add(time.Duration(offset) * time.Second)
		ts := strconv.FormatInt(at.Unix(), 10)
		sig := delivery.NewSigner([]hookd.Secret{{Value: secret}}, at).Sign(id, at, body)
		h := http.Header{}
		h.Set(verify.HeaderID, id)
		h.Set(verify.HeaderTimestamp, ts)
		h.Set(verify.HeaderSignature, sig)
		if err := v.Verify(h, body); id != "" && err != nil {
			t.Fatalf("what hookd signed does not verify: %v", err)
		}

		// A request made from the fuzzer's parts, with hookd's signature
		// among its own.
		if ts2 == "" {
			ts2 = ts
		}
		h2 := http.Header{}
		h2.Set(verify.HeaderID, id2)
		h2.Set(verify.HeaderTimestamp, ts2)
		h2.Set(verify.HeaderSignature, sig2+" "+sig)
		signedBytes := id + "." + ts + "." + string(body)
		covered := id2 + "." + strings.TrimSpace(ts2) + "." + string(body2)
		err = v.Verify(h2, body2)
		if err == nil && covered != signedBytes {
			t.Fatalf("verified %q with the signature of %q", covered, signedBytes)
		}
		checkRefusal(t, err)

		// The fuzzer's signatures alone: nothing it makes up passes.
		h2.Set(verify.HeaderSignature, sig2)
		err = v.Verify(h2, body2)
		if err == nil {
			t.Fatalf("verified %q with the made-up signature %q", covered, sig2)
		}
		checkRefusal(t, err)

		// Handler: a 4xx for every refusal, next only for what verifies.
		h2.Set(verify.HeaderSignature, sig2+" "+sig)
		called := false
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/hook", bytes.NewReader(body2))
		req.Header = h2
		verify.Handler(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true })).ServeHTTP(rec, req)
		if called && covered != signedBytes {
			t.Fatalf("Handler let %q through", covered)
		}
		if !called && (rec.Code < 400 || rec.Code >= 500) {
			t.Fatalf("Handler answered %d: %s", rec.Code, rec.Body)
		}
	})
}

// checkRefusal fails unless err is nil or wraps one of Verify's errors,
// which Status maps to a 4xx.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	known := false
	for _, e := range []error{verify.ErrMissingHeader, verify.ErrInvalidTimestamp, verify.ErrTooOld, verify.ErrTooNew, verify.ErrNoMatch} {
		known = known || errors.Is(err, e)
	}
	if s := verify.Status(err); !known || s < 400 || s >= 500 {
		t.Fatalf("refusal %v: status %d", err, s)
	}
}
