package hookd

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of a webhook's fields beyond those the contract spells out. They are
// generous for real use and keep one registration small enough to load on
// every publish.
const (
	MaxNameLen           = 255
	MaxDescriptionLen    = 1000
	MaxURLLen            = 2048
	MaxEventTypes        = 100
	MaxFilterPairs       = 50
	MaxFilterKeyLen      = 255
	MaxFilterValueLen    = 1000
	MaxHeaders           = 50
	MaxHeaderValues      = 10
	MaxHeaderNameLen     = 256
	MaxHeaderValueLen    = 4096
	MaxAuthFieldLen      = 1024
	MaxSecrets           = 2
	MinTimeoutMS         = 1000
	MaxTimeoutMS         = 30000
	MaxMaxRetries        = 10
	MaxRetrySchedule     = 20
	MaxRetryDelay        = 24 * time.Hour
	MaxSuspendAfter      = 365 * 24 * time.Hour
	MaxRateLimit         = 1_000_000
	MaxMaxInFlight       = 1000
	MinPlainSecretLen    = 16
	MaxPlainSecretLen    = 128
	MinSecretKeyBytes    = 16
	MaxSecretKeyBytes    = 64
	MaxGroupLen          = 255
	MaxIdempotencyKeyLen = 255
	MaxAttributes        = 50
	MaxAttributeKeyLen   = 255
	MaxAttributeValueLen = 1000
)

// SecretPrefix starts a base64 secret in the Standard Webhooks format.
const SecretPrefix = "whsec_"

var (
	printablePattern = regexp.MustCompile(`^[\x20-\x7E]*$`)
	tokenPattern     = regexp.MustCompile(`^[\x21-\x7E]+$`)
)

// SystemHeaders are the request headers a webhook may not set (lower-case):
// hop-by-hop and framing headers, the ones hookd sets itself, and headers a
// receiver may trust for routing or caching. Every `webhook-*` header is
// refused as well (see IsSystemHeader).
var SystemHeaders = []string{
	"host", "connection", "keep-alive", "transfer-encoding", "upgrade", "via",
	"te", "trailer", "content-length", "content-type", "authorization", "origin",
	"permissions-policy", "user-agent", "accept", "accept-encoding",
	"accept-language", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
	"x-real-ip", "forwarded", "date", "expires", "last-modified", "cache-control",
	"etag", "if-match", "if-none-match", "access-control-allow-origin",
	"access-control-allow-methods", "access-control-allow-headers",
	"access-control-expose-headers",
}

// ValidHeaderName reports whether name is an HTTP token (RFC 9110):
// ^[a-zA-Z0-9!#$%&'*+\-.^_`|~]+$, the rule for a custom header's name.
func ValidHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// ValidHeaderValue reports whether v is printable ASCII and tabs,
// ^[\x09\x20-\x7E]*$, the rule for a custom header's value: never a line
// break.
func ValidHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c != '\t' && (c < 0x20 || c > 0x7e) {
			return false
		}
	}
	return true
}

// IsSystemHeader reports whether name (any case) may not be set as a custom
// header: a system header or a `webhook-*` signature header.
func IsSystemHeader(name string) bool {
	n := strings.ToLower(name)
	if strings.HasPrefix(n, "webhook-") {
		return true
	}
	for _, h := range SystemHeaders {
		if n == h {
			return true
		}
	}
	return false
}

// ValidEventTypePattern reports whether p may be one of a webhook's
// event_types: "*", "all", an exact type or a prefix ending in ".*".
func ValidEventTypePattern(p string) bool {
	if p == "*" || p == "all" {
		return true
	}
	if strings.HasSuffix(p, ".*") {
		return len(p) > 2 && EventTypePattern.MatchString(p[:len(p)-2])
	}
	return EventTypePattern.MatchString(p)
}

// Validate checks a complete webhook (after defaults, PUT or PATCH were
// applied) against every rule of the contract and returns an EINVALID *Error
// listing all invalid fields at once, or nil. targets (if not nil) decides
// whether the URL may be a delivery target.
func (w *Webhook) Validate(ctx context.Context, targets TargetChecker) error {
	var f Fields
	w.validate(ctx, targets, &f)
	return f.Err()
}

func (w *Webhook) validate(ctx context.Context, targets TargetChecker, f *Fields) {
	switch n := utf8.RuneCountInString(w.Name); {
	case strings.TrimSpace(w.Name) == "":
		f.Add("name", "is required")
	case n > MaxNameLen:
		f.Add("name", "must be at most %d characters", MaxNameLen)
	}
	if utf8.RuneCountInString(w.Description) > MaxDescriptionLen {
		f.Add("description", "must be at most %d characters", MaxDescriptionLen)
	}
	if msg := checkURL(ctx, w.URL, targets); !msg.IsZero() {
		f.AddMsg("url", msg)
	}

	switch n := len(w.EventTypes); {
	case n == 0:
		f.Add("event_types", "must have at least one event type")
	case n > MaxEventTypes:
		f.Add("event_types", "must have at most %d event types", MaxEventTypes)
	}
	for i, p := range w.EventTypes {
		if !ValidEventTypePattern(p) {
			f.Add(fmt.Sprintf("event_types[%d]", i), `must be "*", "all", an event type of [A-Za-z0-9_.:-] (1..255) or a prefix ending in ".*"`)
		}
	}

	if len(w.Filter) > MaxFilterPairs {
		f.Add("filter", "must have at most %d pairs", MaxFilterPairs)
	}
	for _, k := range sortedKeys(w.Filter) {
		v := w.Filter[k]
		field := "filter." + k
		switch {
		case k == "":
			f.Add("filter", "keys must not be empty")
		case utf8.RuneCountInString(k) > MaxFilterKeyLen:
			f.Add(field, "key must be at most %d characters", MaxFilterKeyLen)
		case v == "":
			f.Add(field, "must not be empty")
		case utf8.RuneCountInString(v) > MaxFilterValueLen:
			f.Add(field, "must be at most %d characters", MaxFilterValueLen)
		}
	}

	CheckHeaders("headers", w.Headers, f)

	if a := w.Auth; a != nil {
		checkAuth(a, f)
	}

	if len(w.Secrets) > MaxSecrets {
		f.Add("secrets", "must have at most %d secrets", MaxSecrets)
	}
	for i, s := range w.Secrets {
		if msg := CheckSecret(s.Value); !msg.IsZero() {
			f.AddMsg(fmt.Sprintf("secrets[%d]", i), msg)
		}
	}

	if w.TimeoutMS < MinTimeoutMS || w.TimeoutMS > MaxTimeoutMS {
		f.Add("timeout_ms", "must be between %d and %d", MinTimeoutMS, MaxTimeoutMS)
	}
	if w.MaxRetries < 0 || w.MaxRetries > MaxMaxRetries {
		f.Add("max_retries", "must be between 0 and %d", MaxMaxRetries)
	}
	if len(w.RetrySchedule) > MaxRetrySchedule {
		f.Add("retry_schedule", "must have at most %d durations", MaxRetrySchedule)
	}
	for i, d := range w.RetrySchedule {
		if d <= 0 || time.Duration(d) > MaxRetryDelay {
			f.Add(fmt.Sprintf("retry_schedule[%d]", i), "must be greater than 0s and at most %s", durString(MaxRetryDelay))
		}
	}
	if sa := time.Duration(w.FailureHandling.SuspendAfter); sa < 0 || sa > MaxSuspendAfter {
		f.Add("failure_handling.suspend_after", "must be between 0s and %s", durString(MaxSuspendAfter))
	}
	if w.RateLimit < 0 || w.RateLimit > MaxRateLimit {
		f.Add("rate_limit", "must be between 0 (unlimited) and %d", MaxRateLimit)
	}
	if w.MaxInFlight < 0 || w.MaxInFlight > MaxMaxInFlight {
		f.Add("max_in_flight", "must be between 1 and %d, or null for the server's default", MaxMaxInFlight)
	}
}

// CheckHeaders adds to f every rule the custom headers h break, naming
// them under field (`headers`, so `headers.X-Name`, `headers.X-Name[1]`):
// names are HTTP tokens that are no system header, unique without regard
// to case, each with 1..MaxHeaderValues values of printable ASCII and tabs.
// A webhook's headers and a test call's extra headers follow these rules.
func CheckHeaders(field string, headers map[string][]string, f *Fields) {
	if len(headers) > MaxHeaders {
		f.Add(field, "must have at most %d headers", MaxHeaders)
	}
	seen := map[string]string{}
	for _, name := range sortedKeys(headers) {
		hf := field + "." + name
		switch {
		case name == "":
			f.Add(field, "header names must not be empty")
			continue
		case len(name) > MaxHeaderNameLen:
			f.Add(hf, "name must be at most %d characters", MaxHeaderNameLen)
			continue
		case !ValidHeaderName(name):
			f.Add(hf, "name must match ^[a-zA-Z0-9!#$%%&'*+\\-.^_`|~]+$")
			continue
		case IsSystemHeader(name):
			f.Add(hf, "is a system header and cannot be set")
			continue
		}
		if other, ok := seen[strings.ToLower(name)]; ok {
			f.Add(hf, "duplicates header %s (names are case-insensitive)", other)
			continue
		}
		seen[strings.ToLower(name)] = name
		vals := headers[name]
		switch {
		case len(vals) == 0:
			f.Add(hf, "must have at least one value")
		case len(vals) > MaxHeaderValues:
			f.Add(hf, "must have at most %d values", MaxHeaderValues)
		}
		for i, v := range vals {
			vf := fmt.Sprintf("%s[%d]", hf, i)
			if len(v) > MaxHeaderValueLen {
				f.Add(vf, "must be at most %d characters", MaxHeaderValueLen)
			} else if !ValidHeaderValue(v) {
				f.Add(vf, `must match ^[\x09\x20-\x7E]*$ (printable ASCII and tab)`)
			}
		}
	}
}

func durString(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

// checkURL returns why raw may not be a webhook's URL, or the zero Msg.
func checkURL(ctx context.Context, raw string, targets TargetChecker) Msg {
	if raw == "" {
		return NewMsg("is required")
	}
	if len(raw) > MaxURLLen {
		return NewMsg("must be at most %d characters", MaxURLLen)
	}
	if strings.ContainsRune(raw, ' ') {
		// url.Parse keeps a space in the path or query, and the sender
		// would send it percent-encoded: what is shown would not be what
		// is sent.
		return Text("must not contain spaces; write them as %20")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return NewMsg("must be an absolute http or https URL")
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return NewMsg("must be an absolute http or https URL")
	}
	if u.Hostname() == "" {
		return NewMsg("must have a host")
	}
	for i := 0; i < len(u.Host); i++ {
		if u.Host[i] >= utf8.RuneSelf {
			// The sender writes the Host header and dials the name as
			// given (internal/delivery/client.go).
			return NewMsg("must have an ASCII host: write an internationalized domain name in punycode (xn--...)")
		}
	}
	if u.User != nil {
		return NewMsg("must not contain credentials; use auth")
	}
	if msg := CheckHost(u.Hostname()); msg != "" {
		return Text(msg)
	}
	if p := u.Port(); p != "" {
		n := 0
		for _, c := range p {
			n = n*10 + int(c-'0')
			if n > 65535 {
				break
			}
		}
		if n < 1 || n > 65535 {
			return NewMsg("must have a port between 1 and 65535")
		}
	}
	if targets != nil {
		// CheckTarget compares the scheme as given; hand it the lower-case one.
		u2 := *u
		u2.Scheme = strings.ToLower(u.Scheme)
		if msg := targets.CheckTarget(ctx, &u2); msg != "" {
			return Text(msg)
		}
	}
	return Msg{}
}

// CheckHost returns why host, a URL's Hostname (an IPv6 address without
// its brackets), cannot be a webhook's host whatever the server's target
// policy, or "" if it can. What is shown must be what is dialled, and these
// are read differently by different parsers and resolvers:
//   - an IPv6 zone (`[fe80::1%25eth0]`) names a network interface of the
//     server, and no address range matches an address that carries one;
//   - an IPv4 address not written as four decimal numbers (`2130706433`,
//     `0x7f.1`, `017700000001`, `127.1`, `127.0.0.1.`) is a name to Go's
//     resolver but an address to getaddrinfo and to browsers (WHATWG URL:
//     a host whose last label is a number is an IPv4 address);
//   - a name must be letters, digits, `-` and `_` in labels of 1..63
//     characters (at most 253 in all, one trailing dot allowed), so that
//     nothing but a DNS name reaches the resolver.
func CheckHost(host string) string {
	if strings.Contains(host, "%") {
		return "must not have an IPv6 zone (%25...)"
	}
	if strings.Contains(host, ":") {
		if _, err := netip.ParseAddr(host); err != nil {
			return "must have a valid IPv6 address"
		}
		return ""
	}
	name := strings.TrimSuffix(host, ".")
	if endsInNumber(name) {
		if a, err := netip.ParseAddr(host); err != nil || !a.Is4() {
			return "must write an IPv4 address as four decimal numbers (a.b.c.d)"
		}
		return ""
	}
	if !isDNSName(name) {
		return `must have a host name of letters, digits, "-" and "_" (labels of 1..63 characters)`
	}
	return ""
}

// endsInNumber reports whether name's last label is a decimal number or
// 0x followed by hex digits: the WHATWG URL rule for a host that is to be
// read as an IPv4 address.
func endsInNumber(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	if last == "" {
		return false
	}
	digits := "0123456789"
	if len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		last, digits = last[2:], "0123456789abcdefABCDEF"
	}
	for i := 0; i < len(last); i++ {
		if strings.IndexByte(digits, last[i]) < 0 {
			return false
		}
	}
	return true
}

// isDNSName reports whether name (without a trailing dot) is dot-separated
// labels of 1..63 letters, digits, '-' and '_', at most 253 in all.
func isDNSName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	n := 0 // length of the label so far
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '.':
			if n == 0 {
				return false
			}
			n = 0
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
			if n++; n > 63 {
				return false
			}
		default:
			return false
		}
	}
	return n > 0
}

func checkAuth(a *Auth, f *Fields) {
	switch a.Type {
	case AuthBasic:
		switch {
		case a.Username == "":
			f.Add("auth.username", "is required for basic auth")
		case len(a.Username) > MaxAuthFieldLen:
			f.Add("auth.username", "must be at most %d characters", MaxAuthFieldLen)
		case strings.Contains(a.Username, ":"):
			f.Add("auth.username", `must not contain ":"`)
		case !printablePattern.MatchString(a.Username):
			f.Add("auth.username", "must be printable ASCII")
		}
		switch {
		case a.Password == "":
			f.Add("auth.password", "is required for basic auth")
		case len(a.Password) > MaxAuthFieldLen:
			f.Add("auth.password", "must be at most %d characters", MaxAuthFieldLen)
		case !printablePattern.MatchString(a.Password):
			f.Add("auth.password", "must be printable ASCII")
		}
		if a.Token != "" {
			f.Add("auth.token", "is only allowed with type bearer")
		}
	case AuthBearer:
		switch {
		case a.Token == "":
			f.Add("auth.token", "is required for bearer auth")
		case len(a.Token) > MaxAuthFieldLen:
			f.Add("auth.token", "must be at most %d characters", MaxAuthFieldLen)
		case !tokenPattern.MatchString(a.Token):
			f.Add("auth.token", "must be printable ASCII without spaces")
		}
		if a.Username != "" {
			f.Add("auth.username", "is only allowed with type basic")
		}
		if a.Password != "" {
			f.Add("auth.password", "is only allowed with type basic")
		}
	case "":
		f.Add("auth.type", "is required")
	default:
		f.Add("auth.type", `must be "basic" or "bearer"`)
	}
}

// CheckSecret returns why s cannot be a signing secret, or the zero Msg if
// it can: a secret is `whsec_` + standard base64 of 16..64 bytes, or a
// plain string of 16..128 printable ASCII characters.
func CheckSecret(s string) Msg {
	if strings.HasPrefix(s, SecretPrefix) {
		b, err := base64.StdEncoding.DecodeString(s[len(SecretPrefix):])
		if err != nil {
			return NewMsg("must be whsec_ followed by standard base64")
		}
		if len(b) < MinSecretKeyBytes || len(b) > MaxSecretKeyBytes {
			return NewMsg("must decode to %d..%d bytes", MinSecretKeyBytes, MaxSecretKeyBytes)
		}
		return Msg{}
	}
	if n := len(s); n < MinPlainSecretLen || n > MaxPlainSecretLen || !printablePattern.MatchString(s) {
		return NewMsg("must be whsec_<base64> or %d..%d printable ASCII characters", MinPlainSecretLen, MaxPlainSecretLen)
	}
	return Msg{}
}

// NewSecret returns a new signing secret: `whsec_` + standard base64 of 32
// random bytes.
func NewSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("hookd: crypto/rand failed: " + err.Error())
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// SecretKey returns the HMAC key of a secret: the decoded bytes of a
// `whsec_` secret, the raw bytes of any other (also of a whsec_ secret whose
// base64 does not decode, which validation refuses).
func SecretKey(s string) []byte {
	if strings.HasPrefix(s, SecretPrefix) {
		if b, err := base64.StdEncoding.DecodeString(s[len(SecretPrefix):]); err == nil {
			return b
		}
	}
	return []byte(s)
}

// Check adds to f every rule the event input breaks; prefix starts each
// field path (`events[3].` in a batch, "" for one event). A payload longer
// than maxPayload bytes (when maxPayload > 0) is reported on `payload`.
func (in *EventInput) Check(prefix string, maxPayload int, f *Fields) {
	switch {
	case in.Type == "":
		f.Add(prefix+"type", "is required")
	case !EventTypePattern.MatchString(in.Type):
		f.Add(prefix+"type", "must be 1..255 characters of [A-Za-z0-9_.:-]")
	}
	if maxPayload > 0 && len(in.Payload) > maxPayload {
		f.Add(prefix+"payload", "must be at most %d bytes", maxPayload)
	}
	if utf8.RuneCountInString(in.Group) > MaxGroupLen {
		f.Add(prefix+"group", "must be at most %d characters", MaxGroupLen)
	}
	switch n := len(in.IdempotencyKey); {
	case n > MaxIdempotencyKeyLen:
		f.Add(prefix+"idempotency_key", "must be at most %d characters", MaxIdempotencyKeyLen)
	case n > 0 && !printablePattern.MatchString(in.IdempotencyKey):
		f.Add(prefix+"idempotency_key", "must be printable ASCII")
	}
	if len(in.Attributes) > MaxAttributes {
		f.Add(prefix+"attributes", "must have at most %d pairs", MaxAttributes)
	}
	for _, k := range sortedKeys(in.Attributes) {
		switch {
		case k == "":
			f.Add(prefix+"attributes", "keys must not be empty")
		case utf8.RuneCountInString(k) > MaxAttributeKeyLen:
			f.Add(prefix+"attributes."+k, "key must be at most %d characters", MaxAttributeKeyLen)
		case utf8.RuneCountInString(in.Attributes[k]) > MaxAttributeValueLen:
			f.Add(prefix+"attributes."+k, "must be at most %d characters", MaxAttributeValueLen)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
