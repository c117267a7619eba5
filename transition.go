package hookd

import "time"

// The message state machine: what an attempt's outcome, a manual action, a
// hold or a release does to a message, to its group and to its webhook.
// The rules are pure functions of the message, its webhook and the time; a
// store loads the rows a rule reads, calls it, and writes the Transition it
// returns. Rules that a store applies to many messages in one statement
// (holding a webhook's waiting messages, aborting a deleted webhook's open
// ones, sweeping ended ones) are the MessageState predicates (Open,
// Waiting, Blocks, Terminal), which a store turns into lists of states with
// StatesWhere, so that no store decides a rule of its own.
//
// The invariants the rules keep:
//
//   - A message is claimable exactly when it is created or retrying, not
//     leased and due (Transition.DueAt set).
//   - A pending message is held: its webhook is not active, or an earlier
//     message of its group blocks it (MessageState.Blocks). It has no due
//     time; Release makes it waiting again.
//   - A test message is never held or deferred and never counts for its
//     webhook's failure streak.

// MessageStatus is what the state machine reads of a stored message.
type MessageStatus struct {
	ID, TenantID, WebhookID string
	// EventID and EventType are the message's event's: what operational
	// events say of it (see OperationalEvents).
	EventID, EventType string
	// GroupKey is the group the message is ordered in: its event's group
	// when its webhook was grouped at publish, else "".
	GroupKey     string
	State        MessageState
	AttemptCount int
	// Lease is the token of the claim that holds the message, 0 for none.
	Lease int64
	// Test marks a test message (Store.CreateTestMessage).
	Test bool
	// NextAttemptAt and CreatedAt tell Release when a held message is due.
	NextAttemptAt *time.Time
	CreatedAt     time.Time
}

// Transition is what a rule did to one message and what followed for its
// group and its webhook. A store writes it as it is (Moved: the message's
// new state, schedule and lease; Attempt: the attempt to record; the
// webhook's streak and suspension through ApplyTo), and reports it to its
// observer (see ObservableStore) once committed. The flags name what
// happened, so that whoever watches (logs, metrics, operational events)
// need not read it out of the states.
type Transition struct {
	MessageID, TenantID, WebhookID, GroupKey string
	// At is when it happened: the message's updated_at, the webhook's
	// suspended_at.
	At time.Time
	// From is the message's state before, To after. Moved is false when
	// the message stays as it was (an outcome whose lease is stale: its
	// attempt is only counted); To is then From.
	From, To MessageState
	Moved    bool
	// NextAttemptAt is when the message is next attempted, nil once it
	// ended. DueAt is when it becomes claimable: nil while it is held or
	// ended. A move ends the message's lease, but for a release, which
	// keeps the lease of an attempt in flight when the message was held
	// (its outcome still applies).
	NextAttemptAt, DueAt *time.Time
	// Manual marks a move by hand (retry, recover): the next attempt has
	// trigger manual and the retry budget starts afresh.
	Manual bool
	// Attempt is what an outcome records (nil for other rules): its
	// Number, Trigger, StartedAt and message, webhook and tenant ids set.
	Attempt *Attempt

	// Held: the message is pending, because its webhook is not active or
	// (on a retry) an earlier message of its group blocks it.
	Held bool
	// FailedForGood: the message failed; no attempt follows without a
	// manual action.
	FailedForGood bool
	// GroupReleased: the message stopped holding back its group (it
	// succeeded, ended by hand, or failed with continue_on_failure). The
	// store releases the group's next message at once when the webhook is
	// active, else when it becomes active again.
	GroupReleased bool
	// StreakStarted: the attempt failed and began the webhook's failure
	// streak. StreakEnded: the attempt succeeded and ended it.
	StreakStarted, StreakEnded bool
	// Suspended: the attempt failed when the streak had lasted
	// failure_handling.suspend_after, and suspended the webhook, whose
	// waiting messages the store then holds.
	Suspended bool
	// FailingSince is when the webhook's failure streak began, after a
	// failed attempt that counts for it; nil otherwise.
	FailingSince *time.Time
}

// ApplyTo updates w, the webhook of t's message, with what t did to it:
// its failure streak and its suspension. A store applies each transition
// of a batch to its webhook before it applies the next outcome of that
// webhook, so that the outcomes of a batch end where applying them one by
// one would.
func (t *Transition) ApplyTo(w *Webhook) {
	if t.StreakStarted || t.StreakEnded {
		w.FailingSince = t.FailingSince
	}
	if t.Suspended {
		at := t.At
		w.Suspended, w.SuspendedAt = true, &at
	}
}

// ApplyOutcome returns what the outcome o of an attempt does to message m
// of webhook w (nil when the webhook was deleted) at now.
//
// The attempt is always recorded and counted: numbered after m's earlier
// attempts, with trigger scheduled by default (test for a test message)
// and started at now by default. The message moves only when o's lease
// is its current one: successful; failed, for good; retrying at
// o.NextAttemptAt (now when zero), or pending (held, its next attempt
// kept) when w is not active. A message that succeeds, or fails while w
// has continue_on_failure, releases its group. Every attempt but a test
// one drives w's failure streak, whoever's lease it holds: a success ends
// the streak, a failure starts it, and a failure once the streak has
// lasted failure_handling.suspend_after (0: never) suspends w. The store
// checks o.State first (CheckOutcomes); any other state moves nothing.
func ApplyOutcome(m MessageStatus, w *Webhook, o Outcome, now time.Time) Transition {
	t := Transition{MessageID: m.ID, TenantID: m.TenantID, WebhookID: m.WebhookID, GroupKey: m.GroupKey,
		At: now, From: m.State, To: m.State}
	if w != nil && (w.ID != m.WebhookID || w.TenantID != m.TenantID) {
		w = nil // not the message's: as good as deleted
	}
	a := o.Attempt
	a.MessageID, a.WebhookID, a.TenantID = m.ID, m.WebhookID, m.TenantID
	a.Number = m.AttemptCount + 1
	if a.StartedAt.IsZero() {
		a.StartedAt = now
	}
	if a.Trigger == "" {
		a.Trigger = TriggerScheduled
		if m.Test {
			a.Trigger = TriggerTest
		}
	}
	t.Attempt = &a

	cof := w != nil && w.ContinueOnFailure
	if m.Lease != 0 && m.Lease == o.Lease && m.State.Open() {
		switch o.State {
		case StateSuccessful:
			t.Moved, t.To = true, StateSuccessful
		case StateFailed:
			t.Moved, t.To, t.FailedForGood = true, StateFailed, true
		case StateRetrying:
			at := o.NextAttemptAt
			if at.IsZero() {
				at = now
			}
			t.Moved, t.NextAttemptAt = true, &at
			if w != nil && w.Active() {
				t.To, t.DueAt = StateRetrying, &at
			} else {
				t.To, t.Held = StatePending, true
			}
		}
		t.GroupReleased = m.GroupKey != "" && t.Moved && t.From.Blocks(cof) && !t.To.Blocks(cof)
	}

	if w == nil || a.Trigger == TriggerTest {
		return t // a test call never suspends a webhook nor ends its streak
	}
	if a.Success {
		t.StreakEnded = w.FailingSince != nil
		return t
	}
	since := w.FailingSince
	if since == nil {
		s := a.StartedAt
		since, t.StreakStarted = &s, true
	}
	t.FailingSince = since
	limit := time.Duration(w.FailureHandling.SuspendAfter)
	t.Suspended = limit > 0 && !w.Suspended && now.Sub(*since) >= limit
	return t
}

// Retry starts a new attempt cycle for m by hand (Store.RetryMessage and
// RecoverMessages) at now: a fresh retry budget, the next attempt manual
// and due now, any lease taken away (an attempt in flight is then stale).
// The message is retrying if it was attempted before, else created; it is
// pending (held) instead while w is not active or an earlier message of
// its group blocks it (blocked, see MessageState.Blocks). ECONFLICT for a
// successful message, and for one whose webhook was deleted (w nil).
func Retry(m MessageStatus, w *Webhook, blocked bool, now time.Time) (Transition, error) {
	if m.State == StateSuccessful {
		return Transition{}, Errorf(ECONFLICT, "message was delivered successfully")
	}
	if w == nil {
		return Transition{}, Errorf(ECONFLICT, "the message's webhook was deleted")
	}
	t := Transition{MessageID: m.ID, TenantID: m.TenantID, WebhookID: m.WebhookID, GroupKey: m.GroupKey,
		At: now, From: m.State, To: ReleasedState(m.AttemptCount), Moved: true, Manual: true}
	at := now
	t.NextAttemptAt = &at
	if !w.Active() || blocked {
		t.To, t.Held = StatePending, true
	} else {
		t.DueAt = &at
	}
	return t, nil // open again, it blocks its group: nothing is released
}

// Abort ends m by hand as aborted (Store.AbortMessage); see endByHand.
func Abort(m MessageStatus, w *Webhook, now time.Time) (Transition, error) {
	return endByHand(m, w, StateAborted, now)
}

// Resolve marks m resolved by hand (Store.ResolveMessage); see endByHand.
func Resolve(m MessageStatus, w *Webhook, now time.Time) (Transition, error) {
	return endByHand(m, w, StateResolved, now)
}

// endByHand ends a created, pending, retrying or failed message m of
// webhook w (nil: deleted) in state to: no next attempt, no lease. A
// message that held back its group releases it. ECONFLICT from any other
// state.
func endByHand(m MessageStatus, w *Webhook, to MessageState, now time.Time) (Transition, error) {
	if !m.State.Open() && m.State != StateFailed {
		return Transition{}, Errorf(ECONFLICT, "message is %s", m.State)
	}
	cof := w != nil && w.ContinueOnFailure
	return Transition{MessageID: m.ID, TenantID: m.TenantID, WebhookID: m.WebhookID, GroupKey: m.GroupKey,
		At: now, From: m.State, To: to, Moved: true,
		GroupReleased: m.GroupKey != "" && m.State.Blocks(cof)}, nil
}

// ReleasedState is the state a held message resumes in: retrying if it
// was attempted before (attemptCount > 0), else created.
func ReleasedState(attemptCount int) MessageState {
	if attemptCount > 0 {
		return StateRetrying
	}
	return StateCreated
}

// Release returns what releasing m, a held message that nothing earlier in
// its group blocks, does at now: it resumes in ReleasedState, due when it
// was last scheduled (a held retry keeps its backoff) or, never scheduled,
// since its creation. A past due time is due at once and the oldest go
// first, so released messages resume in order. ok is false, and m stays
// held, when m is not pending or w is nil or not active.
func Release(m MessageStatus, w *Webhook, now time.Time) (t Transition, ok bool) {
	if m.State != StatePending || w == nil || !w.Active() {
		return Transition{}, false
	}
	at := m.CreatedAt
	if m.NextAttemptAt != nil {
		at = *m.NextAttemptAt
	}
	return Transition{MessageID: m.ID, TenantID: m.TenantID, WebhookID: m.WebhookID, GroupKey: m.GroupKey,
		At: now, From: m.State, To: ReleasedState(m.AttemptCount), Moved: true,
		NextAttemptAt: &at, DueAt: &at}, true
}

// Defer returns what handing m back without an attempt does (Store.
// DeferMessage), when lease is m's current one: the lease ends and m is
// next attempted at due, due then unless it is held (pending), in which
// case it resumes at due when released. No attempt is recorded and no
// retry spent. ok is false, and nothing changes, for a stale lease, a test
// message or a message that is not open.
func Defer(m MessageStatus, lease int64, due, now time.Time) (t Transition, ok bool) {
	if lease == 0 || m.Lease != lease || m.Test || !m.State.Open() {
		return Transition{}, false
	}
	t = Transition{MessageID: m.ID, TenantID: m.TenantID, WebhookID: m.WebhookID, GroupKey: m.GroupKey,
		At: now, From: m.State, To: m.State, Moved: true, NextAttemptAt: &due}
	if m.State != StatePending {
		t.DueAt = &due
	}
	return t, true
}

// PublishedState is the state of a new message for webhook w: pending
// (held) while w is not active or an earlier message of its group blocks
// it (blocked), else created, due at once.
func PublishedState(w *Webhook, blocked bool) MessageState {
	if !w.Active() || blocked {
		return StatePending
	}
	return StateCreated
}

// SetSuspended returns w suspended or unsuspended by hand at now
// (Store.SetSuspended), and whether that changes it. Suspending keeps the
// SuspendedAt of a webhook already suspended (then nothing changes);
// unsuspending always clears the failure streak, so that the webhook
// starts afresh. WebhookChange then says what happens to its messages.
func SetSuspended(w Webhook, suspended bool, now time.Time) (updated Webhook, changed bool) {
	switch {
	case suspended && w.Suspended:
		return w, false
	case suspended:
		w.Suspended, w.SuspendedAt = true, &now
	default:
		w.Suspended, w.SuspendedAt, w.FailingSince = false, nil, nil
	}
	return w, true
}

// WebhookChange returns what changing a webhook from old to updated does
// to its messages: hold makes its waiting ones pending (it stopped being
// active); release lets its held ones go (see Release), because it became
// active again or its failed messages stopped blocking their groups
// (continue_on_failure turned on).
func WebhookChange(old, updated *Webhook) (hold, release bool) {
	switch {
	case old.Active() && !updated.Active():
		return true, false
	case updated.Active() && (!old.Active() || (!old.ContinueOnFailure && updated.ContinueOnFailure)):
		return false, true
	}
	return false, false
}
