package hookd

import (
	"context"
	"time"
)

// Page asks for one page of a list: at most Limit items after the item whose
// id is After (items are ordered by id, ascending, i.e. by creation).
type Page struct {
	Limit int
	After string
}

// WebhookFilter narrows ListWebhooks. Nil fields do not filter.
type WebhookFilter struct {
	Page
	TenantID   string // required: whose webhooks are listed (EINVALID when empty)
	Name       string // case-insensitive substring
	URL        string // exact, normalised
	URLPrefix  string // prefix of the normalised URL
	Enabled    *bool
	Suspended  *bool
	Active     *bool
	EventTypes []string // any of them, see Webhook.SubscribesToAny
}

// EventFilter narrows ListEvents.
type EventFilter struct {
	Page
	Type  string
	Since *time.Time // created_at >= Since
	Until *time.Time // created_at < Until
}

// MessageFilter narrows ListMessages and MessageTotaler.CountMessagesMatching.
type MessageFilter struct {
	Page
	// Offset skips that many matching messages (after Page.After) before
	// the page: paging by position, as the dialects' pageNumber and offset
	// ask. A store skips them in an index where one holds the filter (see
	// MessageStore.ListMessages); a negative Offset is 0.
	Offset    int
	WebhookID string
	EventID   string
	States    []MessageState // any of them
	EventType string
	Since     *time.Time
	Until     *time.Time
}

// Store is hookd's only way to its data, composed of one interface per
// concern so that each consumer asks for what it calls (the API, the
// delivery engine and the sweeper each declare theirs); a new concern is
// a new interface embedded here. Every adapter (sqlite, postgres)
// implements it and passes storetest.Exercise. Methods return *Error with
// ENOTFOUND, ECONFLICT or EINVALID where they say so, and EUNAVAILABLE when
// the database cannot serve the call now (its disk is full, it is
// unreachable or shutting down: a failed write then stored nothing, and
// may be retried); anything else is an internal error. Tenant-scoped
// methods never see another tenant's rows: a row of another tenant is
// ENOTFOUND.
type Store interface {
	EventTypeStore
	MessageCounter

	// Ping checks readiness: that the store is reachable and, when a write
	// failed for want of the database since the last one that succeeded,
	// that writes succeed again (it then tries one). EUNAVAILABLE says
	// why not.
	Ping(ctx context.Context) error
	Close() error

	TenantStore
	APIKeyStore
	WebhookStore
	EventStore
	MessageStore
	MessageTotaler
	DeliveryStore
	SweepStore
}

// TenantStore keeps tenants.
type TenantStore interface {
	// CreateTenant stores t; ECONFLICT if the id exists.
	CreateTenant(ctx context.Context, t *Tenant) error
	GetTenant(ctx context.Context, id string) (*Tenant, error)
	ListTenants(ctx context.Context, p Page) ([]*Tenant, error)
	// DeleteTenant removes the tenant and everything it owns.
	DeleteTenant(ctx context.Context, id string) error
}

// APIKeyStore keeps API keys.
type APIKeyStore interface {
	// CreateAPIKey stores k (with TokenHash set); ENOTFOUND without tenant.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	ListAPIKeys(ctx context.Context, tenantID string, p Page) ([]*APIKey, error)
	DeleteAPIKey(ctx context.Context, tenantID, id string) error
	// FindAPIKey returns the key whose token hashes to hash; ENOTFOUND.
	FindAPIKey(ctx context.Context, hash string) (*APIKey, error)
	// TouchAPIKey records that key id was used at at: its LastUsedAt
	// becomes at unless it is already later. A deleted key is no error.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}

// WebhookStore keeps webhooks. Changing whether a webhook is active holds
// or releases its messages (hookd.WebhookChange).
type WebhookStore interface {
	// CreateWebhook stores w, assigning w.ID (NewID inside the write
	// transaction, so ids sort in commit order), w.Number (the tenant's
	// next number: one more than the last it ever gave out, so a number is
	// never reused, not even after a delete), CreatedAt and UpdatedAt.
	// ECONFLICT with ExistingID when the tenant has a webhook that w
	// duplicates (the same normalised URL and filter, see
	// Webhook.DuplicateKey); ENOTFOUND without tenant.
	CreateWebhook(ctx context.Context, w *Webhook) error
	GetWebhook(ctx context.Context, tenantID, id string) (*Webhook, error)
	// GetWebhookByNumber returns the tenant's webhook with that Number;
	// ENOTFOUND.
	GetWebhookByNumber(ctx context.Context, tenantID string, number int64) (*Webhook, error)
	ListWebhooks(ctx context.Context, f WebhookFilter) ([]*Webhook, error)
	// UpdateWebhook replaces every writable field of the stored webhook
	// (w.ID, w.TenantID; never its Number) and sets UpdatedAt. ECONFLICT
	// with ExistingID when it would duplicate another webhook of the
	// tenant. When the webhook stops being active (disabled) its waiting
	// messages become pending (held); when it becomes active again they
	// are released in group order.
	UpdateWebhook(ctx context.Context, w *Webhook) error
	// DeleteWebhook deletes it; its undelivered messages become aborted.
	DeleteWebhook(ctx context.Context, tenantID, id string) error
	// SetSuspended suspends or unsuspends; unsuspending clears the failure
	// streak and releases held messages in order. Returns the webhook.
	// A change publishes its operational event (SuspensionEvents) in the
	// same transaction, as Complete does.
	SetSuspended(ctx context.Context, tenantID, id string, suspended bool, now time.Time) (*Webhook, error)
	// SetSecrets replaces the webhook's secrets.
	SetSecrets(ctx context.Context, tenantID, id string, secrets []Secret) error
}

// EventStore stores published events and their messages.
type EventStore interface {
	// Publish stores the events of one tenant and one message per matching
	// active or suspended (held as pending) enabled webhook, all in one
	// transaction, all or nothing. A reused idempotency key within
	// IdempotencyWindow returns the first event (Duplicate) when the
	// fingerprint matches, ECONFLICT when it does not. A message of a grouped
	// webhook whose event has a group is pending while an earlier message of
	// that (webhook, group) is not finished (see ListMessages' doc).
	Publish(ctx context.Context, tenantID string, events []EventInput, now time.Time) ([]PublishResult, error)
	GetEvent(ctx context.Context, tenantID, id string) (*Event, error)
	ListEvents(ctx context.Context, tenantID string, f EventFilter) ([]*Event, error)
}

// MessageStore reads messages and their attempts, and applies the manual
// transitions (hookd.Retry, Abort, Resolve).
type MessageStore interface {
	GetMessage(ctx context.Context, tenantID, id string) (*Message, error)
	// ListMessages returns a page of the tenant's messages that match f,
	// in id order: of those after f.After, the first f.Offset skipped, at
	// most f.Limit. A state that is none matches nothing. The page's ids
	// come from an index alone, without reading the messages skipped, when
	// f names a webhook or none, at most one state and nothing else
	// (EventID, EventType, Since, Until), but for successful (read until
	// the page is full) and an open state across the tenant's webhooks.
	ListMessages(ctx context.Context, tenantID string, f MessageFilter) ([]*Message, error)
	ListAttempts(ctx context.Context, tenantID, messageID string, p Page) ([]*Attempt, error)

	// RetryMessage schedules an attempt at now with trigger manual and a
	// fresh retry budget; ECONFLICT for a successful message.
	RetryMessage(ctx context.Context, tenantID, id string, now time.Time) (*Message, error)
	// AbortMessage ends a message that is not yet successful, aborted or
	// resolved; ECONFLICT otherwise. Releases its group.
	AbortMessage(ctx context.Context, tenantID, id string, now time.Time) (*Message, error)
	// ResolveMessage marks a failed, retrying, pending or created message
	// resolved; ECONFLICT otherwise. Releases its group.
	ResolveMessage(ctx context.Context, tenantID, id string, now time.Time) (*Message, error)
	// RecoverMessages re-queues the webhook's failed messages created in
	// [since, until) with a fresh retry budget and returns how many. Test
	// messages (CreateTestMessage) are not re-queued: never retried.
	RecoverMessages(ctx context.Context, tenantID, webhookID string, since, until time.Time, now time.Time) (int, error)
}

// DeliveryStore is what the delivery engine needs: claiming due messages,
// recording outcomes (hookd.ApplyOutcome), handing messages back, and
// test messages.
type DeliveryStore interface {
	// Claim leases up to limit messages that are due at now (created or
	// retrying, next attempt <= now, webhook active), oldest due first, until
	// now+lease; a claimed message is not claimed again before the lease
	// ends (after a crash it becomes due again by itself).
	Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*Delivery, error)
	// NextDue returns when the earliest waiting message becomes due (ok
	// false when none waits).
	NextDue(ctx context.Context) (t time.Time, ok bool, err error)
	// Complete applies outcomes in one transaction, as ApplyOutcome
	// says: records each attempt (with Attempt.ID when set, so the caller
	// knows its id; a new id when empty; an outcome whose attempt id is
	// already stored was applied
	// before and is skipped, so a retried Complete records nothing twice),
	// moves the message to its new state (ignored when the lease is stale:
	// the attempt is still recorded), releases the next message of its group
	// when the message ended (successful, or failed with
	// continue_on_failure), and keeps the webhook's failure streak: a
	// success clears it, a failure starts it, and a failure when the streak
	// is at least failure_handling.suspend_after old suspends the webhook,
	// whose waiting messages then become pending. An attempt with trigger
	// test (the default trigger of a test message's attempt) leaves the
	// streak alone: a failing test call never suspends a webhook, and a
	// successful one does not end a streak of real deliveries.
	//
	// The operational events of the transitions (OperationalEvents:
	// a streak's start and end, a suspension, a message failed for
	// good) are published in the same transaction, each into its
	// webhook's tenant, as Publish would publish them (matching
	// webhooks, messages): committed with the outcomes or not at all,
	// so that neither is ever seen without the other.
	Complete(ctx context.Context, outcomes []Outcome, now time.Time) error
	// DeferMessage hands a claimed message back without an attempt: when
	// lease is the message's current lease, the lease ends and the message
	// is due again at due (its next_attempt_at; a message held meanwhile
	// stays held and resumes at due). Nothing is recorded, no retry is
	// spent and the webhook's failure streak is not touched. A stale lease,
	// an unknown message or a test message is ignored (nil).
	DeferMessage(ctx context.Context, messageID string, lease int64, due time.Time) error
	// ReleaseLeases makes every leased message due at now (start-up of a
	// single node: nothing is in flight). A test message still open (its
	// Test call never recorded an outcome, e.g. the process crashed while
	// sending it) becomes failed: it is never retried by itself, and a
	// test message is not claimable, so it would otherwise stay open
	// forever. It may be retried by hand like any failed message.
	ReleaseLeases(ctx context.Context, now time.Time) error

	// CreateTestMessage stores an event and a message for webhook that is
	// not claimable (already leased to the caller) and returns it as a
	// Delivery with TriggerTest; the caller attempts it and calls Complete.
	// The message is never held by a suspension or a disable (it is sent
	// anyway) and never deferred; see ReleaseLeases for one left open.
	CreateTestMessage(ctx context.Context, tenantID, webhookID string, ev EventInput, now time.Time) (*Delivery, error)
}

// SweepStore deletes data past its retention.
type SweepStore interface {
	// Sweep deletes at most limit terminal messages (with their attempts)
	// last updated before cutoff, then events before cutoff that have no
	// message left, and expired idempotency keys. Returns rows deleted.
	Sweep(ctx context.Context, cutoff time.Time, limit int, now time.Time) (int, error)
}

// MessageTotaler counts a list of messages, for the lists paged by
// position that answer their total (the dialects' totalCount): only they
// ask for it, so the native API's Store leaves it out.
type MessageTotaler interface {
	// CountMessagesMatching returns how many of the tenant's messages match
	// f (its Page and Offset aside): the total of ListMessages' pages, as a
	// list paged by position answers it. It counts index entries, not
	// messages, for the filters whose pages ListMessages finds in an index,
	// and for several states of a webhook; successful is the webhook's
	// total less its other states. Another tenant's webhook has none (0,
	// not ENOTFOUND: a list of it is empty).
	CountMessagesMatching(ctx context.Context, tenantID string, f MessageFilter) (int, error)
}

// MessageCounter counts messages by state, for the metrics
// (hookd_messages{state}): one query over the whole store, meant to run
// every few seconds at most, not per request.
type MessageCounter interface {
	// CountMessagesByState returns how many messages of every tenant are
	// in each state; a state without any may be absent.
	CountMessagesByState(ctx context.Context) (map[MessageState]int64, error)
}

// Deferral is one claimed message to hand back without an attempt, due
// again at Due (see Store.DeferMessage).
type Deferral struct {
	MessageID string
	Lease     int64
	Due       time.Time
}

// Handoff takes messages leased to it as they are published, so that a
// fresh message is attempted without a Claim: one write less per message
// and no wait for the engine's next claim. A store that supports it (see
// HandoffStore) asks Reserve before it writes each claimable message of a
// publish, writes the reserved ones already leased (as Claim would have,
// until now+lease), and after its commit calls Deliver with them; if the
// commit fails it calls Release instead. A message it could not reserve is
// written claimable as usual; a store may also write it so that its Claim
// can take it without a write (the SQLite store parks it, see
// internal/sqlite/fresh.go), as long as Claim's rules hold.
type Handoff interface {
	// Reserve returns how many of n more deliveries the engine takes (0 to
	// n), and the lease to give them.
	Reserve(n int) (int, time.Duration)
	// Deliver hands over committed, leased deliveries reserved before.
	Deliver(ds []*Delivery)
	// Release gives back n reservations that will not be delivered.
	Release(n int)
	// Wake tells the engine that a commit wrote claimable messages it did
	// not reserve, so that it claims them without waiting for its poll.
	Wake()
}

// HandoffStore is a Store that can hand published messages to a Handoff.
type HandoffStore interface {
	// SetHandoff sets the receiver of leased messages (nil: none).
	SetHandoff(h Handoff)
}

// OperationalEventStore is a Store that reports the operational events
// it publishes (see Complete and SetSuspended), for the log and the
// metrics.
type OperationalEventStore interface {
	// SetOperationalObserver sets the function told of committed
	// operational events, EventID set (nil: none). Like the observer of
	// ObservableStore it is called after the commit, on the goroutine
	// of the store call, before that call returns, and must not block
	// for long. A crash between the commit and the call loses the
	// report, never the event.
	SetOperationalObserver(fn func([]OperationalEvent))
}

// ObservableStore is a Store that reports the transitions it commits:
// those of Complete's outcomes and of the manual actions (RetryMessage,
// AbortMessage, ResolveMessage, RecoverMessages), one Transition per
// message moved or attempt recorded. Rules applied to many messages in one
// statement (a webhook's hold and release, aborting a deleted webhook's
// messages) report nothing; a transition's flags say when a webhook was
// suspended or a group released.
type ObservableStore interface {
	// SetObserver sets the function told of committed transitions (nil:
	// none). It is called after the commit, on the goroutine of the store
	// call that made them, before that call returns, with the call's
	// transitions in the order they were applied; calls that run at the
	// same time may report in any order. It must not block for long: the
	// engine's Complete waits for it.
	SetObserver(fn func([]Transition))
}
