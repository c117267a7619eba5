package verify_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/verify"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	v, err := verify.New(secretA)
	if err != nil {
		t.Fatal(err)
	}
	v.MaxBodyBytes = 1024
	var gotEnv *verify.Envelope
	var gotBody []byte
	h := verify.Handler(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotEnv, _ = verify.FromContext(r.Context())
		gotBody, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	body := []byte(`{"id":"msg_1","event_id":"evt_1","type":"Unit.Updated","timestamp":"2026-11-23T06:00:00Z","tenant_id":"acme","data":{"id":17}}`)
	now := time.Now()
	serve := func(header http.Header, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/hook", bytes.NewReader(body))
		for k, vs := range header {
			req.Header[k] = vs
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	rec := serve(signed("msg_1", now, body, secretA), body)
	if rec.Code != http.StatusNoContent || gotEnv == nil || gotEnv.ID != "msg_1" || string(gotEnv.Data) != `{"id":17}` || !bytes.Equal(gotBody, body) {
		t.Fatalf("valid delivery: %d %s, envelope %+v, body %s", rec.Code, rec.Body, gotEnv, gotBody)
	}

	notEnvelope := []byte(`{"hello":"world"}`)
	big := bytes.Repeat([]byte("x"), 2000)
	for _, tc := range []struct {
		name   string
		header http.Header
		body   []byte
		status int
		says   string
	}{
		{"unsigned", http.Header{}, body, 400, "missing webhook header: webhook-id, webhook-timestamp, webhook-signature"},
		{"bad timestamp", func() http.Header {
			h := signed("msg_1", now, body, secretA)
			h.Set("webhook-timestamp", "x")
			return h
		}(), body, 400, "not a Unix time"},
		{"wrong secret", signed("msg_1", now, body, secretB), body, 401, "no signature matches"},
		{"replayed", signed("msg_1", now.Add(-time.Hour), body, secretA), body, 401, "too old"},
		{"signed, not an envelope", signed("msg_1", now, notEnvelope, secretA), notEnvelope, 400, "not a delivery envelope"},
		{"too large", signed("msg_1", now, big, secretA), big, 413, "larger than 1024 bytes"},
	} {
		gotEnv = nil
		rec := serve(tc.header, tc.body)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.says) || gotEnv != nil {
			t.Errorf("%s: %d %q, want %d saying %q (next called: %v)", tc.name, rec.Code, rec.Body, tc.status, tc.says, gotEnv != nil)
		}
	}
	if _, ok := verify.FromContext(t.Context()); ok {
		t.Error("FromContext of a context without an envelope")
	}
}
