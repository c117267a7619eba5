package hookd

import (
	"encoding/json"
	"strings"
	"time"
)

// Operational events: what hookd tells a tenant about its own webhooks.
// When a transition suspends a webhook, starts or ends its failure streak
// or fails a message for good, and when a person suspends or unsuspends a
// webhook, hookd publishes an event of a type under
// OperationalEventTypePrefix into the webhook's tenant, so that the tenant
// hears of it with an ordinary webhook subscribed to `hookd.*` (or to one
// of the types). The rules here decide which events a change causes and
// what they say; a store publishes them in the transaction that writes the
// change (all or nothing: no event without its change, no change without
// its event) and matches them to webhooks like any event, with two rules
// of Webhook.Matches:
//
//   - A webhook never receives an operational event about itself (the
//     event's attribute OperationalWebhookAttribute names the webhook):
//     a webhook that cannot take deliveries would otherwise be told so by
//     a delivery it cannot take, and its failures would feed themselves.
//   - `*` and `all` do not select operational types: a webhook receives
//     them only when it names them (`hookd.*`, `hookd.webhook.*`, an exact
//     type), so that a receiver registered for every event of the
//     platform is not sent hookd's own events unasked, as Svix keeps its
//     operational webhooks apart from the application's.
//
// Why events about events cannot go round for ever (webhook A takes
// B's events and B takes A's, both failing): an operational event has one
// of three causes, each bounded.
//
//  1. A person's suspension or unsuspension (Store.SetSuspended): one
//     event per change made by hand.
//  2. A transition of a message of the tenant's own event (not an
//     operational one, not a test message): hookd.webhook.failing,
//     hookd.webhook.recovered, hookd.message.failed, and a suspension.
//     The attempts of those messages are the tenant's, not caused by
//     operational events.
//  3. A transition of a message of an operational event: only its
//     suspension of the receiving webhook is announced. A suspension
//     happens once per webhook until a person unsuspends it, so this
//     cause yields at most one event per webhook per unsuspension.
//
// So the deliveries of operational events are never announced but by a
// suspension (their own streaks and final failures stay silent: those
// would make one more event per failed delivery, and two failing webhooks
// watching each other would trade events for ever), and the number of
// operational events is bounded by the tenant's own messages' attempts
// and the people's actions. Test messages (Store.CreateTestMessage) cause
// none: a test call is not a delivery of the platform's.

// The types of hookd's operational events.
const (
	// EventWebhookSuspended: a webhook was suspended, by its failure
	// streak (trigger automatic) or by hand (trigger manual).
	EventWebhookSuspended = OperationalEventTypePrefix + "webhook.suspended"
	// EventWebhookUnsuspended: a suspended webhook was unsuspended by
	// hand (the API, the dashboard), its held messages released.
	EventWebhookUnsuspended = OperationalEventTypePrefix + "webhook.unsuspended"
	// EventWebhookFailing: a failed attempt began a webhook's failure
	// streak (it had succeeded, or never been attempted, before).
	EventWebhookFailing = OperationalEventTypePrefix + "webhook.failing"
	// EventWebhookRecovered: a successful attempt ended a webhook's
	// failure streak.
	EventWebhookRecovered = OperationalEventTypePrefix + "webhook.recovered"
	// EventMessageFailed: a message failed for good: its retries are
	// spent and no attempt follows without a retry or recover by hand.
	EventMessageFailed = OperationalEventTypePrefix + "message.failed"
)

// OperationalEventTypes lists the operational event types, in the order
// in which a single transition's events are published.
var OperationalEventTypes = []string{EventWebhookRecovered, EventWebhookFailing, EventMessageFailed,
	EventWebhookSuspended, EventWebhookUnsuspended}

// OperationalWebhookAttribute is the attribute of an operational event
// that names the webhook it is about: Webhook.Matches keeps the event
// from that webhook, and a subscriber may filter on it
// (`"filter": {"webhook_id": "wh_…"}`).
const OperationalWebhookAttribute = "webhook_id"

// Triggers of a suspension or unsuspension.
const (
	OperationalTriggerAutomatic = "automatic" // the failure streak lasted failure_handling.suspend_after
	OperationalTriggerManual    = "manual"    // by hand
)

// IsOperational reports whether eventType is one of hookd's operational
// event types (it starts with OperationalEventTypePrefix), which a tenant
// can neither declare nor publish.
func IsOperational(eventType string) bool {
	return strings.HasPrefix(eventType, OperationalEventTypePrefix)
}

// OperationalEvent is one operational event as the rules decide it: its
// type, its tenant, what it is about and what it says. A store publishes
// Input() into TenantID and sets EventID.
type OperationalEvent struct {
	Type      string
	TenantID  string
	WebhookID string // the webhook it is about
	MessageID string // the message it is about, "" for none
	Payload   OperationalPayload
	// EventID is the published event's id, set by the store.
	EventID string
}

// OperationalPayload is the payload of an operational event. Which fields
// each type fills is in docs/API.md ("Operational events").
type OperationalPayload struct {
	Webhook OperationalWebhook `json:"webhook"`
	// OccurredAt is when it happened: the attempt's record, the
	// suspension, the unsuspension.
	OccurredAt time.Time `json:"occurred_at"`
	// Trigger says who suspended or unsuspended the webhook:
	// OperationalTriggerAutomatic or OperationalTriggerManual.
	Trigger string `json:"trigger,omitempty"`
	// FailingSince is when the webhook's failure streak began: in
	// failing, suspended and message.failed the current streak's (if
	// any), in recovered the streak that ended, in unsuspended the streak
	// that unsuspending cleared (if any).
	FailingSince *time.Time `json:"failing_since,omitempty"`
	// SuspendedAt is, in unsuspended, when the webhook had been suspended.
	SuspendedAt *time.Time          `json:"suspended_at,omitempty"`
	Message     *OperationalMessage `json:"message,omitempty"`
	LastAttempt *OperationalAttempt `json:"last_attempt,omitempty"`
}

// OperationalWebhook identifies the webhook an operational event is about.
type OperationalWebhook struct {
	ID     string `json:"id"`
	Number int64  `json:"number"`
	Name   string `json:"name"`
	URL    string `json:"url"`
}

// OperationalMessage identifies the message whose attempt caused an
// operational event, and its event.
type OperationalMessage struct {
	ID        string `json:"id"`
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	// AttemptCount is every attempt of the message so far, this one
	// included.
	AttemptCount int `json:"attempt_count"`
}

// OperationalAttempt is the attempt that caused an operational event:
// what an attempt records, without its response body (which may be long
// and is the receiver's, not hookd's, to pass on).
type OperationalAttempt struct {
	ID         string    `json:"id"`
	Number     int       `json:"number"`
	Trigger    Trigger   `json:"trigger"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
	// StatusCode and Error are null when there is none (no answer; a
	// 2xx), as in an attempt's record.
	StatusCode *int    `json:"status_code"`
	Error      *string `json:"error"`
	Success    bool    `json:"success"`
}

// Input returns the event to publish: the type, the payload, the
// webhook's id as its group (a grouped subscriber gets one webhook's
// events in order: failing, suspended, unsuspended, recovered) and as the
// attribute OperationalWebhookAttribute.
func (e *OperationalEvent) Input() EventInput {
	b, err := json.Marshal(&e.Payload)
	if err != nil {
		panic("hookd: encode an operational payload: " + err.Error()) // plain strings, numbers and times
	}
	return EventInput{Type: e.Type, Payload: b, Group: e.WebhookID,
		Attributes: map[string]string{OperationalWebhookAttribute: e.WebhookID}}
}

// operationalWebhook returns what an operational event says of w.
func operationalWebhook(w *Webhook) OperationalWebhook {
	return OperationalWebhook{ID: w.ID, Number: w.Number, Name: w.Name, URL: w.URL}
}

// OperationalEvents returns the operational events that t, what an
// attempt's outcome (ApplyOutcome) did to message m of webhook w, causes,
// in the order of OperationalEventTypes. w is the webhook as the outcome
// found it, before t.ApplyTo: its FailingSince is the streak a success
// ended. There are none when w is nil (deleted: nobody asks about it any
// more) and none for a test message. For a message of an operational
// event only a suspension is announced (see the top of this file: that
// keeps events about events finite).
func OperationalEvents(m *MessageStatus, w *Webhook, t *Transition) []OperationalEvent {
	if w == nil || m.Test || t.Attempt == nil {
		return nil
	}
	own := !IsOperational(m.EventType) // a delivery of the tenant's own event
	var out []OperationalEvent
	add := func(typ string, since *time.Time) {
		a := t.Attempt
		e := OperationalEvent{Type: typ, TenantID: w.TenantID, WebhookID: w.ID, MessageID: m.ID,
			Payload: OperationalPayload{Webhook: operationalWebhook(w), OccurredAt: t.At, FailingSince: since,
				Message: &OperationalMessage{ID: m.ID, EventID: m.EventID, EventType: m.EventType, AttemptCount: a.Number},
				LastAttempt: &OperationalAttempt{ID: a.ID, Number: a.Number, Trigger: a.Trigger, StartedAt: a.StartedAt,
					DurationMS: a.DurationMS, StatusCode: nonZero(a.StatusCode), Error: nonZero(a.Error), Success: a.Success}}}
		if typ == EventWebhookSuspended {
			e.Payload.Trigger = OperationalTriggerAutomatic
		}
		out = append(out, e)
	}
	if own && t.StreakEnded {
		add(EventWebhookRecovered, w.FailingSince)
	}
	if own && t.StreakStarted {
		add(EventWebhookFailing, t.FailingSince)
	}
	if own && t.FailedForGood {
		add(EventMessageFailed, t.FailingSince)
	}
	if t.Suspended {
		add(EventWebhookSuspended, t.FailingSince)
	}
	return out
}

// SuspensionEvents returns the operational event of a suspension or
// unsuspension by hand (SetSuspended) that changed webhook old to updated
// at now: hookd.webhook.suspended or hookd.webhook.unsuspended with
// trigger manual; none when nothing changed.
func SuspensionEvents(old, updated *Webhook, now time.Time) []OperationalEvent {
	if old.Suspended == updated.Suspended {
		return nil
	}
	e := OperationalEvent{Type: EventWebhookSuspended, TenantID: updated.TenantID, WebhookID: updated.ID,
		Payload: OperationalPayload{Webhook: operationalWebhook(updated), OccurredAt: now,
			Trigger: OperationalTriggerManual, FailingSince: old.FailingSince}}
	if !updated.Suspended {
		e.Type = EventWebhookUnsuspended
		e.Payload.SuspendedAt = old.SuspendedAt // and FailingSince the streak that unsuspending cleared
	}
	return []OperationalEvent{e}
}

// CheckPublishable adds to f (field prefix+"type") why a tenant may not
// publish an event of type typ: the operational types are hookd's own, so
// that a subscriber can trust that such an event comes from hookd. A test
// call (POST …/test) may send them, to try a receiver's handling.
func CheckPublishable(typ, prefix string, f *Fields) {
	if IsOperational(typ) {
		f.Add(prefix+"type", "must not start with %q: hookd's own operational events use it", OperationalEventTypePrefix)
	}
}

// nonZero returns a pointer to v, nil for v's zero value.
func nonZero[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}
