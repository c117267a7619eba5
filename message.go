package hookd

import "time"

// MessageState is the delivery state of a message (one event for one
// webhook), the seven states of the contract.
type MessageState string

// The message states.
const (
	StateCreated    MessageState = "created"    // stored, first attempt not yet made
	StatePending    MessageState = "pending"    // held: behind its group, or webhook suspended/disabled
	StateRetrying   MessageState = "retrying"   // an attempt failed, the next is scheduled
	StateSuccessful MessageState = "successful" // an attempt got a 2xx
	StateFailed     MessageState = "failed"     // every attempt failed
	StateAborted    MessageState = "aborted"    // ended by hand or webhook deleted
	StateResolved   MessageState = "resolved"   // marked resolved by hand
)

// States lists every state.
var States = []MessageState{StateCreated, StatePending, StateRetrying,
	StateSuccessful, StateFailed, StateAborted, StateResolved}

// ValidState reports whether s names a state.
func ValidState(s string) bool {
	for _, v := range States {
		if string(v) == s {
			return true
		}
	}
	return false
}

// Terminal reports whether no further attempt will be made without a manual
// action (successful, failed, aborted, resolved).
func (s MessageState) Terminal() bool {
	switch s {
	case StateSuccessful, StateFailed, StateAborted, StateResolved:
		return true
	}
	return false
}

// Open reports whether the message is not finished: created, pending or
// retrying. An open message will be attempted when it is due (or released,
// if pending); deleting its webhook aborts it.
func (s MessageState) Open() bool { return ValidState(string(s)) && !s.Terminal() }

// Waiting reports whether the message waits for an attempt of its own
// accord (created or retrying): what a hold, when its webhook stops being
// active, makes pending.
func (s MessageState) Waiting() bool { return s == StateCreated || s == StateRetrying }

// Blocks reports whether a message in state s holds back the later
// messages of its group: while it is open, and once failed unless its
// webhook has continue_on_failure.
func (s MessageState) Blocks(continueOnFailure bool) bool {
	return s.Open() || (s == StateFailed && !continueOnFailure)
}

// StatesWhere returns the states for which pred holds, in the order of
// States: how a store that applies a rule to many messages in one
// statement lists the states the rule (a MessageState method) selects.
func StatesWhere(pred func(MessageState) bool) []MessageState {
	var out []MessageState
	for _, s := range States {
		if pred(s) {
			out = append(out, s)
		}
	}
	return out
}

// Message is one event for one webhook.
type Message struct {
	ID        string       `json:"id"`
	TenantID  string       `json:"tenant_id"`
	WebhookID string       `json:"webhook_id"`
	EventID   string       `json:"event_id"`
	EventType string       `json:"event_type"`
	Group     string       `json:"group,omitempty"` // the event's group
	State     MessageState `json:"state"`
	// AttemptCount is every attempt ever made for the message.
	AttemptCount int `json:"attempt_count"`
	// Tries counts the attempts of the current cycle (reset by a manual
	// retry or a recover); the retry budget is spent against it.
	Tries          int        `json:"-"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	LastAttemptAt  *time.Time `json:"last_attempt_at"`
	LastStatusCode int        `json:"last_status_code,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// Trigger says what caused an attempt.
type Trigger string

// Attempt triggers.
const (
	TriggerScheduled Trigger = "scheduled"
	TriggerManual    Trigger = "manual"
	TriggerTest      Trigger = "test"
)

// Attempt errors: what went wrong when there was no 2xx.
const (
	AttemptErrTimeout       = "timeout"
	AttemptErrRefused       = "connection_refused"
	AttemptErrReset         = "connection_reset"
	AttemptErrTLS           = "tls"
	AttemptErrDNS           = "dns"
	AttemptErrBlockedTarget = "blocked_target"
	AttemptErrRedirect      = "redirect"
	AttemptErrStatus        = "http_status" // a non-2xx answer
	AttemptErrNetwork       = "network"
)

// Attempt is one delivery attempt of a message.
type Attempt struct {
	ID           string    `json:"id"`
	TenantID     string    `json:"tenant_id"`
	MessageID    string    `json:"message_id"`
	WebhookID    string    `json:"webhook_id"`
	Number       int       `json:"number"`
	Trigger      Trigger   `json:"trigger"`
	StartedAt    time.Time `json:"started_at"`
	DurationMS   int64     `json:"duration_ms"`
	StatusCode   int       `json:"status_code"`
	Error        string    `json:"error,omitempty"`
	ResponseBody string    `json:"response_body"`
	Success      bool      `json:"success"`
}

// Delivery is a claimed message with what it takes to attempt it: the event
// and a snapshot of the webhook. Lease identifies the claim; an outcome with
// a stale lease is ignored.
type Delivery struct {
	Message Message
	Event   Event
	Webhook Webhook
	Lease   int64
	Trigger Trigger
}

// Outcome is the result of one attempt, decided by the delivery engine and
// applied by the store in one transaction (see ApplyOutcome).
type Outcome struct {
	MessageID string
	Lease     int64
	Attempt   Attempt // Number is assigned by the store (AttemptCount+1)
	// State is what the engine decided: StateSuccessful, StateRetrying
	// (then NextAttemptAt is set; zero: now) or StateFailed (the retry
	// budget is spent, see delivery.RetryPolicy).
	State         MessageState
	NextAttemptAt time.Time
}

// CheckOutcomes returns EINVALID for an outcome whose state is not
// successful, retrying or failed: Store.Complete refuses the whole call.
func CheckOutcomes(outcomes []Outcome) error {
	for _, o := range outcomes {
		switch o.State {
		case StateSuccessful, StateRetrying, StateFailed:
		default:
			return Errorf(EINVALID, "outcome state %q is not successful, retrying or failed", o.State)
		}
	}
	return nil
}
