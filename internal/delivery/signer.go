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
	v := body{
		ID:        d.Message.ID,
		EventID:   eventID,
		Type:      typ,
		Timestamp: d.Event.CreatedAt.UTC().Format(time.RFC3339Nano),
		TenantID:  tenant,
		Group:     d.Event.Group,
		Data:      data,
	}
	if b, ok := v.appendPlain(make([]byte, 0, 128+len(data))); ok {
		return b, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode body of %s: %w", d.Message.ID, err)
	}
	return b, nil
}

// appendPlain appends v as json.Marshal would encode it, when that needs
// no escaping and no compaction: every string is plain ASCII without
// quotes, backslashes, control characters or the HTML characters <, > and
// & (which encoding/json escapes), and the payload has none of those
// HTML characters, no whitespace and no byte outside ASCII. That is the
// common body (ids, a timestamp, a type, compact ASCII JSON) and skips
// reflection, which was a quarter of the sender's CPU. Otherwise ok is
// false and the caller uses json.Marshal. The payload is not validated
// again: the API stored it as valid JSON.
func (v *body) appendPlain(b []byte) ([]byte, bool) {
	for _, s := range []string{v.ID, v.EventID, v.Type, v.Timestamp, v.TenantID, v.Group} {
		if !plain(s, false) {
			return nil, false
		}
	}
	if !plain(string(v.Data), true) {
		return nil, false
	}
	b = append(b, `{"id":"`...)
	b = append(b, v.ID...)
	b = append(b, `","event_id":"`...)
	b = append(b, v.EventID...)
	b = append(b, `","type":"`...)
	b = append(b, v.Type...)
	b = append(b, `","timestamp":"`...)
	b = append(b, v.Timestamp...)
	b = append(b, `","tenant_id":"`...)
	b = append(b, v.TenantID...)
	if v.Group != "" {
		b = append(b, `","group":"`...)
		b = append(b, v.Group...)
	}
	b = append(b, `","data":`...)
	b = append(b, v.Data...)
	return append(b, '}'), true
}

// plain reports whether s needs no change from encoding/json: printable
// ASCII other than <, > and &, and for a string value also no quote or
// backslash, for raw JSON (payload) also no space (whitespace is
// compacted away).
func plain(s string, payload bool) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '<', c == '>', c == '&':
			return false
		case !payload && (c == '"' || c == '\\'), payload && c == ' ':
			return false
		}
	}
	return true
}
