package client

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// Optional is a field of a PATCH body, which has three states the API
// tells apart: absent (the zero Optional: the field is left as it is),
// null (Null: the field goes back to its default) and a value (Set: the
// field is replaced).
//
//	c.Webhooks.Patch(ctx, "acme", id, &client.WebhookPatch{
//		Enabled: client.Set(false),             // "enabled": false
//		Auth:    client.Null[client.Auth](),    // "auth": null
//	})                                          // every other field as it was
type Optional[T any] struct {
	state uint8 // 0 absent, 1 null, 2 value
	value T
}

// Set returns an Optional holding v.
func Set[T any](v T) Optional[T] { return Optional[T]{state: 2, value: v} }

// Null returns an Optional that is sent as null.
func Null[T any]() Optional[T] { return Optional[T]{state: 1} }

// IsZero reports whether o is absent; encoding/json leaves such a field
// out of the body (the `omitzero` option).
func (o Optional[T]) IsZero() bool { return o.state == 0 }

// IsNull reports whether o is sent as null.
func (o Optional[T]) IsNull() bool { return o.state == 1 }

// Get returns o's value and whether it holds one.
func (o Optional[T]) Get() (T, bool) { return o.value, o.state == 2 }

// MarshalJSON writes null or the value. An absent Optional is not written
// at all when its field is tagged omitzero; elsewhere it is written as
// null.
func (o Optional[T]) MarshalJSON() ([]byte, error) {
	if o.state != 2 {
		return []byte("null"), nil
	}
	return json.Marshal(o.value)
}

// UnmarshalJSON reads null or a value, so that a patch can be decoded
// (from a file, say) as well as written.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*o = Null[T]()
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*o = Set(v)
	return nil
}

// Ptr returns a pointer to v, for the pointer fields of create and PUT
// bodies, where nil leaves a field at its default:
// WebhookInput{Enabled: client.Ptr(false)}.
func Ptr[T any](v T) *T { return &v }

// Duration is a time.Duration that is written in JSON as a Go duration
// string ("90s", "5m", "120h"), the form of the API's durations.
type Duration time.Duration

// String writes d as hookd does: Go's form without zero tails ("120h",
// "5m", "1m30s").
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a Go duration string; null leaves d as it is.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errorf("a duration must be a string like \"90s\": %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return errorf("duration %q: %v", s, err)
	}
	*d = Duration(v)
	return nil
}
