package hookd

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"sort"
	"time"
)

// EventTypePattern is the syntax of an event type.
var EventTypePattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,255}$`)

// Event is a domain event published by the platform, stored as published.
type Event struct {
	ID             string            `json:"id"`
	TenantID       string            `json:"tenant_id"`
	Type           string            `json:"type"`
	Payload        json.RawMessage   `json:"payload"`
	Group          string            `json:"group,omitempty"`
	Attributes     map[string]string `json:"attributes,omitempty"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
}

// EventInput is one event to publish.
type EventInput struct {
	Type           string
	Payload        json.RawMessage // compact JSON, "null" when absent
	Group          string
	Attributes     map[string]string
	IdempotencyKey string
}

// Fingerprint is a hash of the input's content (type, payload, group,
// attributes), used to tell whether a reused idempotency key comes with the
// same body.
func (in *EventInput) Fingerprint() string {
	h := sha256.New()
	write := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	write(in.Type)
	write(string(in.Payload))
	write(in.Group)
	keys := make([]string, 0, len(in.Attributes))
	for k := range in.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		write(k)
		write(in.Attributes[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// PublishResult is the answer for one published event.
type PublishResult struct {
	EventID   string `json:"id"`
	Messages  int    `json:"messages"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// IdempotencyWindow is how long an idempotency key is remembered.
const IdempotencyWindow = 24 * time.Hour
