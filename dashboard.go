package hookd

import (
	"context"
	"strings"
	"time"
)

// What the dashboard (package ui) needs of a store beyond Store: sign-in
// sessions and portal links that every node of a shared database sees
// (SessionStore), delivery statistics kept as attempts are recorded, and
// bounded, newest-first reads for pages that must stay fast on a store of
// millions of messages (StatsStore).

// MinID returns the smallest id NewID can make with prefix at t. NewID's
// ids begin with the millisecond they were made, so "id >= MinID(p, t)"
// selects the ids made at t or later: a time window as a range of an index
// that every id-ordered list already has.
func MinID(prefix string, t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	if t.UnixMilli() < 0 {
		ms = 0
	}
	b[0], b[1] = byte(ms>>40), byte(ms>>32)
	b[2], b[3], b[4], b[5] = byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	return prefix + "_" + encodeBase32(b)
}

// IDTime returns the millisecond an id made by NewID was made at; ok is
// false for a string that is not such an id.
func IDTime(id string) (t time.Time, ok bool) {
	_, suffix, found := strings.Cut(id, "_")
	if !found || len(suffix) != 26 {
		return time.Time{}, false
	}
	var ms uint64
	for i := 0; i < 10; i++ { // 10 characters: 2 zero bits, then the 48-bit time
		v := strings.IndexByte(crockford, suffix[i])
		if v < 0 {
			return time.Time{}, false
		}
		ms = ms<<5 | uint64(v)
	}
	if ms >= 1<<48 {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(ms)).UTC(), true
}

// Session is a dashboard sign-in, kept in the store (hashed) so that every
// node of a shared database knows it. A session acts as the credential it
// was opened with: the root token or an API key (CredentialHash, checked on
// every request, so a revoked key or a changed root token ends it), or a
// portal link (TenantID and Scopes fixed at sign-in; LinkID names the
// link, whose revocation ends the session).
type Session struct {
	TokenHash      string // HashToken of the cookie's value
	CredentialHash string // HashToken of the root token or API key signed in with; "" for a portal session
	TenantID       string // a portal session's tenant
	Scopes         []Scope
	LinkID         string // the portal link that opened it ("" for a sign-in)
	CreatedAt      time.Time
	ExpiresAt      time.Time
}

// PrefixPortalLink begins a portal link's id.
const PrefixPortalLink = "pl"

// PortalLinkRetention is how long a portal link is kept (listed, with its
// status) after it expired; Sweep then deletes it.
const PortalLinkRetention = 7 * 24 * time.Hour

// PortalLink is a one-use link that opens a session limited to one tenant
// (see POST /v1/tenants/{t}/portal-links). Only its token's hash is kept.
type PortalLink struct {
	ID         string // PrefixPortalLink; names it in lists and to revoke it
	TokenHash  string
	TenantID   string
	Label      string // who or what it is for, free text
	CreatedBy  string // the API key's id that made it, or "root"
	ReadOnly   bool
	SessionTTL time.Duration // how long the session it opens lasts
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     *time.Time // when it opened its session
	RevokedAt  *time.Time
}

// The statuses of a portal link (PortalLink.Status).
const (
	LinkUnused  = "unused"
	LinkUsed    = "used"
	LinkExpired = "expired"
	LinkRevoked = "revoked"
)

// Status says what became of the link at now: revoked, used, expired
// (unused) or unused (it still works).
func (l *PortalLink) Status(now time.Time) string {
	switch {
	case l.RevokedAt != nil:
		return LinkRevoked
	case l.UsedAt != nil:
		return LinkUsed
	case !now.Before(l.ExpiresAt):
		return LinkExpired
	}
	return LinkUnused
}

// SessionStore keeps dashboard sessions and portal links.
type SessionStore interface {
	// CreateSession stores s; ENOTFOUND when s.TenantID names no tenant.
	CreateSession(ctx context.Context, s *Session) error
	// FindSession returns the session whose token hashes to hash;
	// ENOTFOUND when there is none or it expired before now.
	FindSession(ctx context.Context, hash string, now time.Time) (*Session, error)
	// DeleteSession ends the session (no error when there is none).
	DeleteSession(ctx context.Context, hash string) error
	// CreatePortalLink stores l, assigning l.ID when empty; ENOTFOUND
	// without tenant.
	CreatePortalLink(ctx context.Context, l *PortalLink) error
	// UsePortalLink marks the link whose token hashes to hash used at now
	// and returns it, in one transaction: a link works once. ENOTFOUND
	// when there is none, or it was used, revoked or expired before now.
	UsePortalLink(ctx context.Context, hash string, now time.Time) (*PortalLink, error)
	// ListPortalLinks returns the tenant's portal links, newest first, at
	// most limit: the unused, and the used, expired and revoked ones of
	// the last PortalLinkRetention.
	ListPortalLinks(ctx context.Context, tenantID string, limit int) ([]*PortalLink, error)
	// RevokePortalLink revokes the tenant's link at now (a revoked link
	// stays revoked at its first time) and ends the session it opened, if
	// any; it returns the link. ENOTFOUND.
	RevokePortalLink(ctx context.Context, tenantID, id string, now time.Time) (*PortalLink, error)
}

// StatsBucket is the width of the buckets delivery statistics are kept in.
const StatsBucket = 5 * time.Minute

// StatsRetention is how long delivery statistics are kept (Sweep deletes
// older buckets).
const StatsRetention = 48 * time.Hour

// LatencyBounds are the upper bounds, in milliseconds, of the latency
// histogram's bins; a last bin holds everything slower. Each bound is
// about 1.5 times the one before, so a percentile read from the histogram
// is within half a bin (about ±25 %) of the exact one.
var LatencyBounds = []int64{1, 2, 3, 5, 8, 12, 18, 27, 40, 60, 90, 135, 200, 300, 450, 675,
	1000, 1500, 2250, 3400, 5000, 7500, 11000, 17000, 30000}

// Histogram counts attempts by duration, one count per bin of
// LatencyBounds and one for the slower ones.
type Histogram []int64

// LatencyBin returns the histogram bin of a duration in milliseconds.
func LatencyBin(ms int64) int {
	for i, b := range LatencyBounds {
		if ms <= b {
			return i
		}
	}
	return len(LatencyBounds)
}

// Add adds o's counts to h (growing h as needed).
func (h *Histogram) Add(o Histogram) {
	if len(*h) < len(o) {
		*h = append(*h, make(Histogram, len(o)-len(*h))...)
	}
	for i, v := range o {
		(*h)[i] += v
	}
}

// Quantile estimates the q-quantile (0 < q <= 1) in milliseconds by linear
// interpolation inside its bin; ok is false for an empty histogram.
func (h Histogram) Quantile(q float64) (ms float64, ok bool) {
	var total int64
	for _, v := range h {
		total += v
	}
	if total == 0 {
		return 0, false
	}
	rank := q * float64(total)
	var seen int64
	for i, v := range h {
		if v == 0 {
			continue
		}
		if float64(seen+v) >= rank {
			lo, hi := 0.0, float64(LatencyBounds[len(LatencyBounds)-1])*2
			if i > 0 {
				lo = float64(LatencyBounds[i-1])
			}
			if i < len(LatencyBounds) {
				hi = float64(LatencyBounds[i])
			}
			frac := (rank - float64(seen)) / float64(v)
			return lo + (hi-lo)*frac, true
		}
		seen += v
	}
	return float64(LatencyBounds[len(LatencyBounds)-1]), true
}

// HealthPoint is the delivery statistics of one webhook over one step of
// time: attempts (test calls excluded), the successful ones, and their
// durations.
type HealthPoint struct {
	Start     time.Time
	Attempts  int64
	Successes int64
	Latency   Histogram
}

// Health is a webhook's delivery statistics over a window: the total and
// one point per step that had attempts, oldest first.
type Health struct {
	WebhookID string
	Total     HealthPoint
	Points    []HealthPoint
}

// MessageCounts are a tenant's messages made in a window, by their state
// now. Every count is capped: a value above the cap asked for means "more
// than the cap". Successful is not counted (no index holds it): it is
// Total less the others when Total is under the cap, else -1 (unknown).
type MessageCounts struct {
	TenantID string
	Total    int
	States   map[MessageState]int
}

// WebhookCounts are a tenant's webhooks: all, suspended, disabled, and
// failing (an unbroken streak of failed attempts).
type WebhookCounts struct {
	TenantID                               string
	Webhooks, Suspended, Disabled, Failing int
}

// MessageQuery asks for one page of a tenant's messages, newest first.
// Bounds are ids (see MinID): Before is the page's cursor (exclusive, ""
// from the newest), From the window's start (inclusive, "" none).
type MessageQuery struct {
	Before, From string
	WebhookID    string
	States       []MessageState
	EventType    string
	Group        string
	Limit        int
	// Scan bounds the messages examined when a filter has no index of its
	// own (event type, group, states other than failed alone): the page
	// holds the matches among the next Scan messages only (0: no bound).
	Scan int
}

// EventQuery asks for one page of a tenant's events, newest first; see
// MessageQuery for the bounds and Scan (applied with a type filter).
type EventQuery struct {
	Before, From string
	Type         string
	Limit        int
	Scan         int
}

// Next is where the page after one of a newest-first list begins: the
// Before of the next query, "" when the window holds no more. Scanned is
// true when a Scan bound ended the page before it was full: older matches
// may exist before Next.
type Next struct {
	Before  string
	Scanned bool
}

// StatsStore is what the dashboard reads beyond Store. Every method is
// bounded on a store of millions of messages: by an index range, a cap or a
// scan bound, never a count of everything.
type StatsStore interface {
	// CountMessages counts, for each tenant, its messages with ids >= from
	// by state, each count capped at limit+1.
	CountMessages(ctx context.Context, tenantIDs []string, from string, limit int) ([]MessageCounts, error)
	// CountWebhooks counts each tenant's webhooks.
	CountWebhooks(ctx context.Context, tenantIDs []string) ([]WebhookCounts, error)
	// WebhookHealth returns the delivery statistics of the tenant's
	// webhooks in [since, until), in points of step (a multiple of
	// StatsBucket), for each webhook that had attempts.
	WebhookHealth(ctx context.Context, tenantID string, webhookIDs []string, since, until time.Time, step time.Duration) (map[string]*Health, error)
	// BrowseMessages returns a page of the tenant's messages, newest first.
	BrowseMessages(ctx context.Context, tenantID string, q MessageQuery) ([]*Message, Next, error)
	// BrowseEvents returns a page of the tenant's events, newest first.
	BrowseEvents(ctx context.Context, tenantID string, q EventQuery) ([]*Event, Next, error)
	// MessagesOfEvents returns the tenant's messages of the events, in id
	// order.
	MessagesOfEvents(ctx context.Context, tenantID string, eventIDs []string) ([]*Message, error)
}

// ManualOp is what a person may do to a message by hand: retry it, abort
// it or mark it resolved (Store's RetryMessage, AbortMessage and
// ResolveMessage, and BulkMessageStore for many at once).
type ManualOp string

// The manual operations.
const (
	OpRetry   ManualOp = "retry"
	OpAbort   ManualOp = "abort"
	OpResolve ManualOp = "resolve"
)

// ManualOps lists the manual operations.
var ManualOps = []ManualOp{OpRetry, OpAbort, OpResolve}

// Apply returns what op does to message m of webhook w (nil: deleted) at
// now: the domain's rule, hookd.Retry, Abort or Resolve (blocked is
// Retry's: an earlier message of m's group blocks it). ECONFLICT when m's
// state (or, for a retry, its deleted webhook) does not allow op;
// EINVALID for an unknown op.
func (op ManualOp) Apply(m MessageStatus, w *Webhook, blocked bool, now time.Time) (Transition, error) {
	switch op {
	case OpRetry:
		return Retry(m, w, blocked, now)
	case OpAbort:
		return Abort(m, w, now)
	case OpResolve:
		return Resolve(m, w, now)
	}
	return Transition{}, Errorf(EINVALID, "unknown operation %q: use retry, abort or resolve", string(op))
}

// Allows reports whether op applies to a message in state s whose webhook
// exists: what Apply decides, asked of the state alone (the dashboard
// offers only what the store will do). A retry applies to any message not
// delivered, abort and resolve to one not yet ended.
func (op ManualOp) Allows(s MessageState) bool {
	if !ValidState(string(s)) {
		return false
	}
	_, err := op.Apply(MessageStatus{State: s}, &Webhook{Enabled: true}, false, time.Time{})
	return err == nil
}

// States returns the states op applies to, in the order of States.
func (op ManualOp) States() []MessageState {
	var out []MessageState
	for _, s := range States {
		if op.Allows(s) {
			out = append(out, s)
		}
	}
	return out
}

// MaxBulkMessages is the most messages one bulk operation of the dashboard
// applies to (the newest that match); BulkBatch how many of them one
// transaction takes, so that the writer is never held for long.
const (
	MaxBulkMessages = 10000
	BulkBatch       = 500
)

// BulkResult is what a bulk operation did: Done messages changed, Skipped
// ones whose state (or deleted webhook, for a retry) did not allow the
// operation any more, NotFound ids that are not the tenant's messages.
type BulkResult struct {
	Done, Skipped, NotFound int
}

// Add adds o's counts to r.
func (r *BulkResult) Add(o BulkResult) {
	r.Done += o.Done
	r.Skipped += o.Skipped
	r.NotFound += o.NotFound
}

// BulkMessageStore applies a manual operation to many messages.
type BulkMessageStore interface {
	// ApplyToMessages applies op to each of the tenant's messages in ids,
	// as RetryMessage, AbortMessage or ResolveMessage would, all in one
	// transaction; a message whose state does not allow op is skipped,
	// not an error. EINVALID for an unknown op.
	ApplyToMessages(ctx context.Context, tenantID string, op ManualOp, ids []string, now time.Time) (BulkResult, error)
	// MessageIDs returns the ids of a page of the tenant's messages, as
	// StatsStore.BrowseMessages would return the messages: what a bulk
	// action is about, read from an index where one holds the filter.
	MessageIDs(ctx context.Context, tenantID string, q MessageQuery) ([]string, Next, error)
}
