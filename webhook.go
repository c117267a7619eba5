package hookd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Webhook is a registration: where and how to deliver which events of one
// tenant. JSON tags give the contract's field names; the HTTP layer decides
// what of it is shown (secrets only on create, no auth password or token).
type Webhook struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	// Number is the webhook's number in its tenant: 1, 2, 3, … in order of
	// creation, assigned by the store and never reused, not even after a
	// delete. Integer ids of the seeds' APIs (the dialects) are numbers.
	Number            int64               `json:"number"`
	Name              string              `json:"name"`
	Description       string              `json:"description"`
	URL               string              `json:"url"`
	Enabled           bool                `json:"enabled"`
	EventTypes        []string            `json:"event_types"`
	Filter            map[string]string   `json:"filter"`
	Headers           map[string][]string `json:"headers"`
	Auth              *Auth               `json:"auth"`
	Secrets           []Secret            `json:"-"`
	TimeoutMS         int                 `json:"timeout_ms"`
	MaxRetries        int                 `json:"max_retries"`
	RetrySchedule     []Duration          `json:"retry_schedule"` // nil: the server's default
	Grouped           bool                `json:"grouped"`
	ContinueOnFailure bool                `json:"continue_on_failure"`
	FailureHandling   FailureHandling     `json:"failure_handling"`
	RateLimit         int                 `json:"rate_limit,omitempty"`    // deliveries per second, 0: unlimited
	MaxInFlight       int                 `json:"max_in_flight,omitempty"` // attempts at once (1..MaxMaxInFlight), 0: the server's default
	Suspended         bool                `json:"suspended"`
	SuspendedAt       *time.Time          `json:"suspended_at"`
	// FailingSince is when the current streak of failed attempts began;
	// nil after a success. Maintained by the store; drives suspension.
	FailingSince *time.Time `json:"-"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// Active reports whether the webhook delivers: enabled and not suspended.
func (w *Webhook) Active() bool { return w.Enabled && !w.Suspended }

// Auth is how hookd authenticates towards the target.
type Auth struct {
	Type     string `json:"type"` // "basic" or "bearer"
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Token    string `json:"token,omitempty"`
}

// Auth types.
const (
	AuthBasic  = "basic"
	AuthBearer = "bearer"
)

// Secret is a signing secret. A secret replaced by rotation keeps signing
// until ExpiresAt.
type Secret struct {
	Value     string     `json:"value"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// ActiveSecrets returns the secrets of s not expired at now, newest first as
// stored.
func ActiveSecrets(s []Secret, now time.Time) []Secret {
	out := make([]Secret, 0, len(s))
	for _, v := range s {
		if v.ExpiresAt == nil || now.Before(*v.ExpiresAt) {
			out = append(out, v)
		}
	}
	return out
}

// SecretRotationOverlap is how long a rotated-out secret keeps signing.
const SecretRotationOverlap = 24 * time.Hour

// FailureHandling says when a failing webhook is suspended.
type FailureHandling struct {
	// SuspendAfter: when an attempt fails and every attempt since the first
	// failure of the current streak failed for at least this long, the
	// webhook is suspended. 0 never suspends.
	SuspendAfter Duration `json:"suspend_after"`
}

// Defaults of a new webhook's fields.
const (
	DefaultTimeoutMS    = 10000
	DefaultMaxRetries   = 6
	DefaultSuspendAfter = 120 * time.Hour // 5 days, like Svix's endpoint disabling
)

// DefaultRetrySchedule is the server's default delay before retry 1, 2, ….
var DefaultRetrySchedule = []time.Duration{5 * time.Minute, 15 * time.Minute,
	time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// NewWebhookDefaults returns a webhook with every field at its default.
func NewWebhookDefaults() *Webhook {
	return &Webhook{
		Enabled:         true,
		TimeoutMS:       DefaultTimeoutMS,
		MaxRetries:      DefaultMaxRetries,
		FailureHandling: FailureHandling{SuspendAfter: Duration(DefaultSuspendAfter)},
	}
}

// MatchEventType reports whether pattern (an exact type, "*", "all" or a
// prefix ending in ".*") selects eventType. "*" and "all" select every
// type but hookd's operational ones (see IsOperational), which only a
// pattern that names them selects (`hookd.*`, an exact type): see
// operational.go.
func MatchEventType(pattern, eventType string) bool {
	switch {
	case pattern == "*" || pattern == "all":
		return !IsOperational(eventType)
	case strings.HasSuffix(pattern, ".*"):
		return strings.HasPrefix(eventType, pattern[:len(pattern)-1])
	default:
		return pattern == eventType
	}
}

// MatchesType reports whether any of the webhook's event types selects
// eventType.
func (w *Webhook) MatchesType(eventType string) bool {
	for _, p := range w.EventTypes {
		if MatchEventType(p, eventType) {
			return true
		}
	}
	return false
}

// MatchesFilter reports whether every pair of the webhook's filter equals
// one of attrs.
func (w *Webhook) MatchesFilter(attrs map[string]string) bool {
	for k, v := range w.Filter {
		if got, ok := attrs[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Matches reports whether an event of this type with these attributes is
// delivered to the webhook (ignoring enabled/suspended). An operational
// event about the webhook itself (its attribute
// OperationalWebhookAttribute is the webhook's id) never is.
func (w *Webhook) Matches(eventType string, attrs map[string]string) bool {
	if IsOperational(eventType) && attrs[OperationalWebhookAttribute] == w.ID {
		return false
	}
	return w.MatchesType(eventType) && w.MatchesFilter(attrs)
}

// SubscribesToAny reports whether the webhook would receive an event of any
// of types, or has one of them literally among its patterns (so that
// `event_type=Unit.*` finds the webhooks registered for `Unit.*`). Used by
// the list filter `event_type`.
func (w *Webhook) SubscribesToAny(types []string) bool {
	for _, t := range types {
		for _, p := range w.EventTypes {
			if p == t || MatchEventType(p, t) {
				return true
			}
		}
	}
	return false
}

// MergeHeaders returns base with the headers of extra over it: a name in
// extra replaces every header of base with that name, whatever its case.
// Neither map is changed; nil when the result is empty.
func MergeHeaders(base, extra map[string][]string) map[string][]string {
	if len(base)+len(extra) == 0 {
		return nil
	}
	out := make(map[string][]string, len(base)+len(extra))
	for k, v := range base {
		out[k] = v
	}
	for _, name := range sortedKeys(extra) {
		for k := range out {
			if strings.EqualFold(k, name) {
				delete(out, k)
			}
		}
		out[name] = extra[name]
	}
	return out
}

// NormalizeURL returns the form of a target URL used to compare webhooks:
// scheme and host lower-cased, default port dropped, empty path as "/",
// fragment dropped; path and query keep their case.
func NormalizeURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	u.Host = host
	u.Fragment = ""
	u.RawFragment = ""
	if u.Path == "" {
		u.Path = "/"
		u.RawPath = ""
	}
	return u.String(), nil
}

// DuplicateKey returns what makes two webhooks of a tenant duplicates: they
// are when their keys are equal, that is when their normalised URLs are
// equal and their filters hold the same pairs (nil and empty alike). Two
// registrations of one URL for different parties (filters) are two
// webhooks. The key is the normalised URL (a URL that does not parse, which
// validation refuses, as written), a line feed (which no URL holds) and
// the filter as JSON with sorted keys, "{}" when empty: the stores keep it
// to find duplicates, and their migrations build it from stored rows the
// same way.
func (w *Webhook) DuplicateKey() string {
	u, err := NormalizeURL(w.URL)
	if err != nil {
		u = w.URL
	}
	f := "{}"
	if len(w.Filter) > 0 {
		b, err := json.Marshal(w.Filter) // sorts the keys
		if err != nil {
			panic("hookd: encode a string map: " + err.Error())
		}
		f = string(b)
	}
	return u + "\n" + f
}

// TargetChecker decides whether a URL may be a delivery target (scheme and
// address policy). It returns a client-facing reason, or "" if allowed.
type TargetChecker interface {
	CheckTarget(ctx context.Context, u *url.URL) string
}

// Duration is a time.Duration written in JSON as a Go duration string.
type Duration time.Duration

// MarshalJSON writes the duration as a string like "5m0s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a duration string like \"90s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("must be a duration string like \"90s\"")
	}
	*d = Duration(v)
	return nil
}

// RetryDelay returns the delay before retry n (1-based) under schedule, whose
// last entry repeats; def is used when schedule is empty.
func RetryDelay(schedule []Duration, def []time.Duration, n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if len(schedule) > 0 {
		if n > len(schedule) {
			n = len(schedule)
		}
		return time.Duration(schedule[n-1])
	}
	if len(def) == 0 {
		return 0
	}
	if n > len(def) {
		n = len(def)
	}
	return def[n-1]
}
