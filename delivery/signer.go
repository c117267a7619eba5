package delivery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// Signer computes Standard Webhooks signatures (version v1: base64 of
// HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")) with every
// key it holds, so a receiver that knows either secret of a rotation can
// verify.
type Signer struct {
	keys [][]byte
}

// NewSigner returns a signer for the secrets of s still active at now
// (hookd.ActiveSecrets), in their stored order.
func NewSigner(s []hookd.Secret, now time.Time) *Signer {
	active := hookd.ActiveSecrets(s, now)
	keys := make([][]byte, len(active))
	for i, v := range active {
		keys[i] = hookd.SecretKey(v.Value)
	}
	return &Signer{keys: keys}
}

// Sign returns the value of the webhook-signature header: one
// `v1,<base64 signature>` per key, separated by spaces; "" without keys.
func (s *Signer) Sign(msgID string, ts time.Time, body []byte) string {
	var b strings.Builder
	unix := strconv.FormatInt(ts.Unix(), 10)
	for i, k := range s.keys {
		h := hmac.New(sha256.New, k)
		h.Write([]byte(msgID))
		h.Write([]byte{'.'})
		h.Write([]byte(unix))
		h.Write([]byte{'.'})
		h.Write(body)
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("v1,")
		b.WriteString(base64.StdEncoding.EncodeToString(h.Sum(nil)))
	}
	return b.String()
}

// body is the JSON document POSTed for a message.
type body struct {
	ID        string          `json:"id"`
	EventID   string          `json:"event_id"`
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	TenantID  string          `json:"tenant_id"`
	Group     string          `json:"group,omitempty"`
	Data      json.RawMessage `json:"data"`
}

// Body returns the request body of a delivery: the message id, the event's
// id, type, creation time (RFC 3339, UTC), tenant, group (left out when the
// event has none) and its payload as `data`.
func Body(d *hookd.Delivery) ([]byte, error) {
	data := d.Event.Payload
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	typ := d.Event.Type
	if typ == "" {
		typ = d.Message.EventType
	}
	eventID := d.Event.ID
	if eventID == "" {
		eventID = d.Message.EventID
	}
	tenant := d.Message.TenantID
	if tenant == "" {
		tenant = d.Event.TenantID
	}
	b, err := json.Marshal(body{
		ID:        d.Message.ID,
		EventID:   eventID,
		Type:      typ,
		Timestamp: d.Event.CreatedAt.UTC().Format(time.RFC3339Nano),
		TenantID:  tenant,
		Group:     d.Event.Group,
		Data:      data,
	})
	if err != nil {
		return nil, fmt.Errorf("encode body of %s: %w", d.Message.ID, err)
	}
	return b, nil
}
