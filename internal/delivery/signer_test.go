package delivery_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
)

// The Standard Webhooks specification's published test vector, as in the
// reference libraries' tests (note the lower-case "tmIK": a copy with
// "tMIK" circulates and is wrong).
const (
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecMsgID  = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS     = 1614265330
	vecBody   = `{"test": 2432232314}`
	vecSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignerVector(t *testing.T) {
	t.Parallel()
	ts := time.Unix(vecTS, 0)
	s := delivery.NewSigner([]hookd.Secret{{Value: vecSecret}}, ts)
	if got := s.Sign(vecMsgID, ts, []byte(vecBody)); got != vecSig {
		t.Fatalf("Sign = %q, want %q", got, vecSig)
	}

	// The reference verifier accepts it.
	wh, err := standardwebhooks.NewWebhook(vecSecret)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", vecMsgID)
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", vecSig)
	if err := wh.VerifyIgnoringTimestamp([]byte(vecBody), h); err != nil {
		t.Fatalf("reference verifier: %v", err)
	}
}

func TestSignerSecrets(t *testing.T) {
	t.Parallel()
	now := time.Now()
	plain := "a-plain-secret-of-32-characters!"
	expired := now.Add(-time.Minute)
	later := now.Add(time.Hour)
	secrets := []hookd.Secret{
		{Value: vecSecret},
		{Value: plain, ExpiresAt: &later},
		{Value: "whsec_dGhpcyBzZWNyZXQgaGFzIGV4cGlyZWQ=", ExpiresAt: &expired},
	}
	body := []byte(`{"id":"msg_1","data":{"x":1}}`)
	sig := delivery.NewSigner(secrets, now).Sign("msg_1", now, body)
	if n := len(strings.Fields(sig)); n != 2 {
		t.Fatalf("got %d signatures (%q), want 2: the expired secret must not sign", n, sig)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sig)

	ref, _ := standardwebhooks.NewWebhook(vecSecret)
	if err := ref.Verify(body, h); err != nil {
		t.Errorf("whsec secret: %v", err)
	}
	ref, _ = standardwebhooks.NewWebhookRaw([]byte(plain))
	if err := ref.Verify(body, h); err != nil {
		t.Errorf("plain secret: %v", err)
	}
	ref, _ = standardwebhooks.NewWebhook("whsec_dGhpcyBzZWNyZXQgaGFzIGV4cGlyZWQ=")
	if err := ref.Verify(body, h); err == nil {
		t.Errorf("expired secret still verifies")
	}
	ref, _ = standardwebhooks.NewWebhook(vecSecret)
	if err := ref.Verify([]byte(`{"id":"msg_1","data":{"x":2}}`), h); err == nil {
		t.Errorf("a changed body verifies")
	}

	if got := delivery.NewSigner(nil, now).Sign("msg_1", now, body); got != "" {
		t.Errorf("no secrets: Sign = %q, want empty", got)
	}
}

func TestBody(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 23, 6, 0, 0, 0, time.FixedZone("CET", 3600))
	d := &hookd.Delivery{
		Message: hookd.Message{ID: "msg_1", TenantID: "acme", WebhookID: "wh_1", EventID: "evt_1", EventType: "Unit.Updated"},
		Event: hookd.Event{ID: "evt_1", TenantID: "acme", Type: "Unit.Updated", Group: "property-12",
			Payload: json.RawMessage(`{"id":17,"name":"3rd floor"}`), CreatedAt: created},
	}
	b, err := delivery.Body(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"msg_1","event_id":"evt_1","type":"Unit.Updated","timestamp":"2026-11-23T05:00:00Z","tenant_id":"acme","group":"property-12","data":{"id":17,"name":"3rd floor"}}`
	if string(b) != want {
		t.Errorf("Body =\n%s\nwant\n%s", b, want)
	}

	d.Event.Group, d.Event.Payload = "", nil
	b, err = delivery.Body(d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"group"`) || !strings.HasSuffix(string(b), `"data":null}`) {
		t.Errorf("without group and payload: %s", b)
	}
}

// Body writes the common body without reflection; whatever the strings and
// the (valid) payload, it must be byte for byte what encoding/json makes
// of the same document.
func FuzzBody(f *testing.F) {
	f.Add("msg_1", "evt_1", "Unit.Updated", "acme", "property-12", `{"id":17,"name":"3rd floor"}`)
	f.Add("msg_1", "evt_1", "a<b", "acme", "", `{"x": [1, 2]}`)
	f.Add("msg_1", "evt_1", `q"uote`, "t\\", "g\n", `"<&>"`)
	f.Add("msg_1", "evt_1", "é", "acme", "\u2028", `{"s":"\u2028 é"}`)
	f.Add("msg_1", "evt_1", "x", "acme", "", ``)
	f.Fuzz(func(t *testing.T, id, evID, typ, tenant, group, payload string) {
		if payload != "" && !json.Valid([]byte(payload)) {
			t.Skip("the API stores only valid JSON")
		}
		created := time.Date(2026, 11, 23, 6, 0, 0, 123456789, time.UTC)
		d := &hookd.Delivery{
			Message: hookd.Message{ID: id, TenantID: tenant, EventID: evID, EventType: typ},
			Event: hookd.Event{ID: evID, TenantID: tenant, Type: typ, Group: group,
				Payload: json.RawMessage(payload), CreatedAt: created},
		}
		got, err := delivery.Body(d)
		if err != nil {
			t.Fatal(err)
		}
		data := json.RawMessage(payload)
		if payload == "" {
			data = json.RawMessage("null")
		}
		// The document as encoding/json writes it, fields as Body fills them.
		want, err := json.Marshal(struct {
			ID        string          `json:"id"`
			EventID   string          `json:"event_id"`
			Type      string          `json:"type"`
			Timestamp string          `json:"timestamp"`
			TenantID  string          `json:"tenant_id"`
			Group     string          `json:"group,omitempty"`
			Data      json.RawMessage `json:"data"`
		}{d.Message.ID, evID, typ, created.Format(time.RFC3339Nano), tenant, group, data})
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("Body =\n%s\nencoding/json:\n%s", got, want)
		}
	})
}
