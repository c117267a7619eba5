// Package verify is the receiving side of hookd's deliveries: it checks a
// delivery's Standard Webhooks signature and decodes its envelope.
//
// hookd signs every attempt with each of the webhook's active secrets
// (two while a rotation overlaps): webhook-signature holds one
// "v1,<base64 HMAC-SHA256>" per secret, over
// "<webhook-id>.<webhook-timestamp>.<body>". A Verifier built with the
// secrets the receiver knows accepts a delivery when any signature matches
// any of them, and the timestamp is within its Tolerance of now (5 minutes
// either way), which keeps a recorded delivery from being replayed later.
//
//	v, err := verify.New(os.Getenv("WEBHOOK_SECRET"))
//	…
//	http.Handle("POST /hook", verify.Handler(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		env, _ := verify.FromContext(r.Context())
//		log.Printf("%s %s: %s", env.Type, env.ID, env.Data)
//	})))
//
// Delivery is at least once: deduplicate by the envelope's ID (the
// webhook-id header), which is the same on every attempt of a message.
// The package depends on the standard library only.
package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery that carry its signature.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts a secret written as base64 of its key bytes, the
// form hookd generates ("whsec_…").
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a delivery's timestamp may be from now,
// either way, unless Verifier.Tolerance says otherwise.
const DefaultTolerance = 5 * time.Minute

// DefaultMaxBodyBytes is the largest body Handler reads unless
// Verifier.MaxBodyBytes says otherwise: hookd's default payload limit
// (256 KiB) with room for the envelope and for JSON escaping. A hookd
// run with a larger --max-payload-bytes needs a larger limit here.
const DefaultMaxBodyBytes = 4 << 20

// The errors of Verify; the error returned wraps one of them (test with
// errors.Is) and says more.
var (
	// ErrMissingHeader: webhook-id, webhook-timestamp or webhook-signature
	// is absent or empty. The request did not come from hookd (or passed
	// through something that dropped the headers).
	ErrMissingHeader = errors.New("missing webhook header")
	// ErrInvalidTimestamp: webhook-timestamp is not Unix seconds.
	ErrInvalidTimestamp = errors.New("webhook-timestamp is not a Unix time in seconds")
	// ErrTooOld: the timestamp is further in the past than the tolerance
	// (a replay, or clocks far apart).
	ErrTooOld = errors.New("webhook-timestamp is too old")
	// ErrTooNew: the timestamp is further in the future than the
	// tolerance (clocks far apart).
	ErrTooNew = errors.New("webhook-timestamp is too far in the future")
	// ErrNoMatch: no v1 signature matches any of the secrets: the body or
	// a header was changed, or the secrets are not the webhook's.
	ErrNoMatch = errors.New("no signature matches")
)

// Verifier checks deliveries against a webhook's secrets. Set its fields
// after New, before use; it is then safe for concurrent use.
type Verifier struct {
	// Tolerance is how far the webhook-timestamp may be from Now, either
	// way (New sets DefaultTolerance; 0 also means the default).
	Tolerance time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// MaxBodyBytes bounds the body Handler reads (0: DefaultMaxBodyBytes);
	// a larger one is answered 413.
	MaxBodyBytes int64

	keys [][]byte
}

// New returns a Verifier that accepts a signature made with any of
// secrets, each written as hookd shows it: "whsec_" followed by standard
// base64 (the decoded bytes are the key), or a plain string (its bytes are
// the key). Give both secrets during a rotation, or just the new one once
// the webhook's answer to rotate was stored. It fails without a secret, on
// an empty one, and on a "whsec_" secret that is not base64.
func New(secrets ...string) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, errors.New("verify: no secret given")
	}
	v := &Verifier{Tolerance: DefaultTolerance}
	for i, s := range secrets {
		key, err := secretKey(s)
		if err != nil {
			return nil, fmt.Errorf("verify: secret %d: %w", i+1, err)
		}
		v.keys = append(v.keys, key)
	}
	return v, nil
}

// secretKey returns the HMAC key of a secret, as hookd derives it.
func secretKey(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("is empty")
	}
	if rest, ok := strings.CutPrefix(s, SecretPrefix); ok {
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || len(b) == 0 {
			return nil, errors.New("whsec_ must be followed by the standard base64 of the key")
		}
		return b, nil
	}
	return []byte(s), nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) tolerance() time.Duration {
	if v.Tolerance > 0 {
		return v.Tolerance
	}
	return DefaultTolerance
}

// Verify checks that body with header is a delivery signed with one of
// the secrets within the tolerance. It returns nil or an error wrapping
// ErrMissingHeader, ErrInvalidTimestamp, ErrTooOld, ErrTooNew or
// ErrNoMatch. body must be the request body exactly as received: a body
// decoded and encoded again no longer matches.
func (v *Verifier) Verify(header http.Header, body []byte) error {
	id, ts, sigs := header.Get(HeaderID), header.Get(HeaderTimestamp), header.Values(HeaderSignature)
	var missing []string
	if id == "" {
		missing = append(missing, HeaderID)
	}
	if ts == "" {
		missing = append(missing, HeaderTimestamp)
	}
	if strings.TrimSpace(strings.Join(sigs, "")) == "" {
		missing = append(missing, HeaderSignature)
	}
	if len(missing) > 0 {
		return fmt.Errorf("verify: %w: %s", ErrMissingHeader, strings.Join(missing, ", "))
	}
	unix, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
	if err != nil {
		return fmt.Errorf("verify: %w: %q", ErrInvalidTimestamp, ts)
	}
	at, now, tol := time.Unix(unix, 0), v.now(), v.tolerance()
	switch {
	case at.Before(now.Add(-tol)):
		return fmt.Errorf("verify: %w: %s ago, more than %s", ErrTooOld, now.Sub(at).Round(time.Second), tol)
	case at.After(now.Add(tol)):
		return fmt.Errorf("verify: %w: %s ahead, more than %s", ErrTooNew, at.Sub(now).Round(time.Second), tol)
	}
	want := make([][]byte, len(v.keys))
	for i, k := range v.keys {
		h := hmac.New(sha256.New, k)
		h.Write([]byte(id))
		h.Write([]byte{'.'})
		h.Write([]byte(strings.TrimSpace(ts)))
		h.Write([]byte{'.'})
		h.Write(body)
		want[i] = h.Sum(nil)
	}
	for _, value := range sigs {
		for _, sig := range strings.Fields(value) {
			version, b64, ok := strings.Cut(sig, ",")
			if !ok || version != "v1" {
				continue // another scheme (v1a: asymmetric), not ours to check
			}
			got, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				continue
			}
			for _, w := range want {
				if hmac.Equal(got, w) { // constant time: no secret leaks through timing
					return nil
				}
			}
		}
	}
	return fmt.Errorf("verify: %w: %s checked against %s", ErrNoMatch,
		plural(countSignatures(sigs), "signature"), plural(len(v.keys), "secret"))
}

func countSignatures(values []string) int {
	n := 0
	for _, v := range values {
		n += len(strings.Fields(v))
	}
	return n
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// Envelope is the body of a delivery: the message and its event.
type Envelope struct {
	// ID is the message's id, the same as webhook-id and on every attempt:
	// deduplicate by it.
	ID string `json:"id"`
	// EventID is the published event's id; an event delivered to two of
	// the receiver's webhooks has one EventID and two IDs.
	EventID string `json:"event_id"`
	// Type is the event's type ("Unit.Updated").
	Type string `json:"type"`
	// Timestamp is when the event was published (not when this attempt
	// was made).
	Timestamp time.Time `json:"timestamp"`
	// TenantID is the tenant the event was published in.
	TenantID string `json:"tenant_id"`
	// Group is the event's ordering group, "" without one.
	Group string `json:"group,omitempty"`
	// Data is the event's payload, as published.
	Data json.RawMessage `json:"data"`
}

// ErrMalformed is wrapped by Decode's errors: the body is not a hookd
// delivery envelope.
var ErrMalformed = errors.New("not a delivery envelope")

// Decode decodes a delivery's body. It does not verify it: call Verify
// first (or Parse, which does both). Unknown fields are ignored, so that a
// field hookd adds later does not break a receiver.
func Decode(body []byte) (*Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("verify: %w: %v", ErrMalformed, err)
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"id", e.ID}, {"event_id", e.EventID}, {"type", e.Type}, {"tenant_id", e.TenantID}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if e.Timestamp.IsZero() {
		missing = append(missing, "timestamp")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("verify: %w: missing %s", ErrMalformed, strings.Join(missing, ", "))
	}
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("null")
	}
	return &e, nil
}

// Parse verifies a delivery and decodes its body: Verify, then Decode.
func (v *Verifier) Parse(header http.Header, body []byte) (*Envelope, error) {
	if err := v.Verify(header, body); err != nil {
		return nil, err
	}
	return Decode(body)
}
