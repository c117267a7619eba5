package hookd_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// The state machine's table tests: no store, only the rules.

var (
	t0       = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	allState = hookd.States
)

func at(d time.Duration) time.Time { return t0.Add(d) }

func tp(t time.Time) *time.Time { return &t }

// hook returns an active webhook "wh" of tenant "a", changed by opts.
func hook(opts ...func(*hookd.Webhook)) *hookd.Webhook {
	w := hookd.NewWebhookDefaults()
	w.ID, w.TenantID = "wh", "a"
	w.FailureHandling.SuspendAfter = hookd.Duration(time.Hour)
	for _, o := range opts {
		o(w)
	}
	return w
}

func suspended(w *hookd.Webhook) { w.Suspended, w.SuspendedAt = true, tp(at(-time.Hour)) }
func disabled(w *hookd.Webhook)  { w.Enabled = false }
func cof(w *hookd.Webhook)       { w.ContinueOnFailure = true }
func neverSusp(w *hookd.Webhook) { w.FailureHandling.SuspendAfter = 0 }
func failingFor(d time.Duration) func(*hookd.Webhook) {
	return func(w *hookd.Webhook) { w.FailingSince = tp(t0.Add(-d)) }
}

// leased returns a message of hook() in state st, claimed with lease 7.
func leased(st hookd.MessageState, opts ...func(*hookd.MessageStatus)) hookd.MessageStatus {
	m := hookd.MessageStatus{ID: "msg", TenantID: "a", WebhookID: "wh", State: st, AttemptCount: 2, Lease: 7,
		CreatedAt: at(-2 * time.Hour)}
	for _, o := range opts {
		o(&m)
	}
	return m
}

func grouped(m *hookd.MessageStatus)   { m.GroupKey = "g" }
func testMsg(m *hookd.MessageStatus)   { m.Test = true }
func notLeased(m *hookd.MessageStatus) { m.Lease = 0 }

func success() hookd.Outcome {
	return hookd.Outcome{MessageID: "msg", Lease: 7, State: hookd.StateSuccessful,
		Attempt: hookd.Attempt{StartedAt: t0, StatusCode: 204, Success: true}}
}

func failure(state hookd.MessageState, next time.Time) hookd.Outcome {
	return hookd.Outcome{MessageID: "msg", Lease: 7, State: state, NextAttemptAt: next,
		Attempt: hookd.Attempt{StartedAt: t0, StatusCode: 500, Error: hookd.AttemptErrStatus}}
}

func stale(o hookd.Outcome) hookd.Outcome { o.Lease = 8; return o }

// want is the part of a Transition a row of the table checks.
type want struct {
	moved                    bool
	to                       hookd.MessageState
	next, due                *time.Time
	held, failed, released   bool
	started, ended, suspends bool
	failingSince             *time.Time
}

func got(t hookd.Transition) want {
	return want{moved: t.Moved, to: t.To, next: t.NextAttemptAt, due: t.DueAt, held: t.Held,
		failed: t.FailedForGood, released: t.GroupReleased, started: t.StreakStarted, ended: t.StreakEnded,
		suspends: t.Suspended, failingSince: t.FailingSince}
}

func TestApplyOutcome(t *testing.T) {
	t.Parallel()
	next := at(5 * time.Minute)
	tests := []struct {
		name string
		m    hookd.MessageStatus
		w    *hookd.Webhook
		o    hookd.Outcome
		want want
	}{
		{"success", leased(hookd.StateCreated), hook(), success(),
			want{moved: true, to: hookd.StateSuccessful}},
		{"success of a retrying message", leased(hookd.StateRetrying), hook(), success(),
			want{moved: true, to: hookd.StateSuccessful}},
		{"success of a message held in flight", leased(hookd.StatePending), hook(suspended), success(),
			want{moved: true, to: hookd.StateSuccessful}},
		{"failure with retries left", leased(hookd.StateCreated), hook(), failure(hookd.StateRetrying, next),
			want{moved: true, to: hookd.StateRetrying, next: &next, due: &next, started: true, failingSince: tp(t0)}},
		{"failure with retries left, no time given: now", leased(hookd.StateCreated), hook(), failure(hookd.StateRetrying, time.Time{}),
			want{moved: true, to: hookd.StateRetrying, next: tp(t0), due: tp(t0), started: true, failingSince: tp(t0)}},
		{"failure with retries left, webhook suspended: held", leased(hookd.StateRetrying), hook(suspended), failure(hookd.StateRetrying, next),
			want{moved: true, to: hookd.StatePending, next: &next, held: true, started: true, failingSince: tp(t0)}},
		{"failure with retries left, webhook disabled: held", leased(hookd.StateRetrying), hook(disabled), failure(hookd.StateRetrying, next),
			want{moved: true, to: hookd.StatePending, next: &next, held: true, started: true, failingSince: tp(t0)}},
		{"failure with retries left, webhook deleted: held", leased(hookd.StateRetrying), nil, failure(hookd.StateRetrying, next),
			want{moved: true, to: hookd.StatePending, next: &next, held: true}},
		{"failure exhausted", leased(hookd.StateRetrying), hook(), failure(hookd.StateFailed, time.Time{}),
			want{moved: true, to: hookd.StateFailed, failed: true, started: true, failingSince: tp(t0)}},

		// Groups.
		{"grouped success releases the group", leased(hookd.StateCreated, grouped), hook(), success(),
			want{moved: true, to: hookd.StateSuccessful, released: true}},
		{"grouped failure blocks the group", leased(hookd.StateRetrying, grouped), hook(), failure(hookd.StateFailed, time.Time{}),
			want{moved: true, to: hookd.StateFailed, failed: true, started: true, failingSince: tp(t0)}},
		{"grouped failure with continue_on_failure releases", leased(hookd.StateRetrying, grouped), hook(cof), failure(hookd.StateFailed, time.Time{}),
			want{moved: true, to: hookd.StateFailed, failed: true, released: true, started: true, failingSince: tp(t0)}},
		{"grouped retry keeps the group", leased(hookd.StateCreated, grouped), hook(cof), failure(hookd.StateRetrying, next),
			want{moved: true, to: hookd.StateRetrying, next: &next, due: &next, started: true, failingSince: tp(t0)}},
		{"grouped failure of a deleted webhook blocks", leased(hookd.StateRetrying, grouped), nil, failure(hookd.StateFailed, time.Time{}),
			want{moved: true, to: hookd.StateFailed, failed: true}},

		// Stale leases: the attempt counts (streak included), nothing moves.
		{"stale lease", leased(hookd.StateCreated), hook(), stale(success()),
			want{to: hookd.StateCreated}},
		{"stale lease of a failure still starts the streak", leased(hookd.StateRetrying), hook(), stale(failure(hookd.StateFailed, time.Time{})),
			want{to: hookd.StateRetrying, started: true, failingSince: tp(t0)}},
		{"no lease at all", leased(hookd.StateRetrying, notLeased), hook(), func() hookd.Outcome { o := success(); o.Lease = 0; return o }(),
			want{to: hookd.StateRetrying}},
		{"ended by hand meanwhile", leased(hookd.StateAborted), hook(), success(),
			want{to: hookd.StateAborted}},
		{"outcome state not an outcome's", leased(hookd.StateCreated), hook(), func() hookd.Outcome { o := success(); o.State = hookd.StateAborted; return o }(),
			want{to: hookd.StateCreated}},

		// The failure streak and suspension.
		{"failure continues a streak", leased(hookd.StateCreated), hook(failingFor(time.Minute)), failure(hookd.StateRetrying, next),
			want{moved: true, to: hookd.StateRetrying, next: &next, due: &next, failingSince: tp(at(-time.Minute))}},
		{"success ends the streak", leased(hookd.StateCreated), hook(failingFor(time.Minute)), success(),
			want{moved: true, to: hookd.StateSuccessful, ended: true}},
		{"failure at suspend_after suspends", leased(hookd.StateCreated), hook(failingFor(time.Hour)), failure(hookd.StateRetrying, next),
			want{moved: true, to: hookd.StateRetrying, next: &next, due: &next, suspends: true, failingSince: tp(at(-time.Hour))}},
		{"failure before suspend_after does not", leased(hookd.StateCreated), hook(failingFor(59 * time.Minute)), failure(hookd.StateRetrying, next),
			want{moved: true, to: hookd.StateRetrying, next: &next, due: &next, failingSince: tp(at(-59 * time.Minute))}},
		{"suspend_after 0s never suspends", leased(hookd.StateCreated), hook(neverSusp, failingFor(1000*time.Hour)), failure(hookd.StateFailed, time.Time{}),
			want{moved: true, to: hookd.StateFailed, failed: true, failingSince: tp(at(-1000 * time.Hour))}},
		{"a suspended webhook is not suspended again", leased(hookd.StatePending), hook(suspended, failingFor(2*time.Hour)), failure(hookd.StateRetrying, next),
			want{moved: true, to: hookd.StatePending, next: &next, held: true, failingSince: tp(at(-2 * time.Hour))}},
		{"a stale failure at suspend_after suspends", leased(hookd.StateCreated), hook(failingFor(time.Hour)), stale(failure(hookd.StateRetrying, next)),
			want{to: hookd.StateCreated, suspends: true, failingSince: tp(at(-time.Hour))}},
		{"a webhook of another tenant counts as deleted", leased(hookd.StateRetrying), hook(func(w *hookd.Webhook) { w.TenantID = "b" }), failure(hookd.StateRetrying, next),
			want{moved: true, to: hookd.StatePending, next: &next, held: true}},

		// Test messages: their attempts leave the streak alone.
		{"test failure leaves the streak alone", leased(hookd.StateCreated, testMsg), hook(failingFor(2 * time.Hour)), failure(hookd.StateFailed, time.Time{}),
			want{moved: true, to: hookd.StateFailed, failed: true}},
		{"test success does not end a streak", leased(hookd.StateCreated, testMsg), hook(failingFor(time.Minute)), success(),
			want{moved: true, to: hookd.StateSuccessful}},
		{"test failure starts no streak", leased(hookd.StateCreated, testMsg), hook(), failure(hookd.StateFailed, time.Time{}),
			want{moved: true, to: hookd.StateFailed, failed: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := hookd.ApplyOutcome(tt.m, tt.w, tt.o, t0)
			if g := got(tr); !reflect.DeepEqual(g, tt.want) {
				t.Errorf("got  %+v\nwant %+v", g, tt.want)
			}
			if tr.From != tt.m.State || tr.MessageID != "msg" || tr.WebhookID != "wh" || tr.TenantID != "a" ||
				tr.GroupKey != tt.m.GroupKey || !tr.At.Equal(t0) || tr.Manual {
				t.Errorf("identity = %+v", tr)
			}
			a := tr.Attempt
			if a == nil || a.Number != tt.m.AttemptCount+1 || a.MessageID != "msg" || a.WebhookID != "wh" || a.TenantID != "a" {
				t.Fatalf("attempt = %+v", a)
			}
		})
	}
}

func TestApplyOutcomeAttemptDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		m           hookd.MessageStatus
		trigger     hookd.Trigger
		started     time.Time
		wantTrigger hookd.Trigger
		wantStarted time.Time
	}{
		{"scheduled by default", leased(hookd.StateCreated), "", at(-time.Second), hookd.TriggerScheduled, at(-time.Second)},
		{"test for a test message", leased(hookd.StateCreated, testMsg), "", at(-time.Second), hookd.TriggerTest, at(-time.Second)},
		{"given trigger kept", leased(hookd.StateCreated), hookd.TriggerManual, at(-time.Second), hookd.TriggerManual, at(-time.Second)},
		{"started now by default", leased(hookd.StateCreated), "", time.Time{}, hookd.TriggerScheduled, t0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := success()
			o.Attempt.Trigger, o.Attempt.StartedAt = tt.trigger, tt.started
			a := hookd.ApplyOutcome(tt.m, hook(), o, t0).Attempt
			if a.Trigger != tt.wantTrigger || !a.StartedAt.Equal(tt.wantStarted) {
				t.Errorf("attempt trigger %s started %v, want %s %v", a.Trigger, a.StartedAt, tt.wantTrigger, tt.wantStarted)
			}
		})
	}
	// A manual attempt of a webhook's real message counts for the streak.
	o := failure(hookd.StateRetrying, at(time.Minute))
	o.Attempt.Trigger = hookd.TriggerManual
	if tr := hookd.ApplyOutcome(leased(hookd.StateRetrying), hook(), o, t0); !tr.StreakStarted {
		t.Errorf("a failed manual attempt started no streak: %+v", tr)
	}
}

// A batch applies each transition to its webhook before the next outcome,
// so that it ends where outcomes applied one by one would.
func TestTransitionApplyTo(t *testing.T) {
	t.Parallel()
	w := hook(failingFor(time.Hour))
	next := at(time.Minute)
	first := hookd.ApplyOutcome(leased(hookd.StateCreated), w, failure(hookd.StateRetrying, next), t0)
	if !first.Suspended || first.To != hookd.StateRetrying {
		t.Fatalf("first = %+v", first)
	}
	first.ApplyTo(w)
	if !w.Suspended || w.SuspendedAt == nil || !w.SuspendedAt.Equal(t0) || !w.FailingSince.Equal(at(-time.Hour)) {
		t.Fatalf("webhook after a suspending failure = %+v", w)
	}
	// The next failure of the batch finds the webhook suspended: held, and
	// no second suspension.
	second := hookd.ApplyOutcome(leased(hookd.StateCreated), w, failure(hookd.StateRetrying, next), t0)
	if second.To != hookd.StatePending || !second.Held || second.Suspended {
		t.Fatalf("second = %+v", second)
	}
	// A success ends the streak; a failure after it starts another.
	third := hookd.ApplyOutcome(leased(hookd.StateCreated), w, success(), t0)
	third.ApplyTo(w)
	if !third.StreakEnded || w.FailingSince != nil {
		t.Fatalf("after a success: %+v, failing since %v", third, w.FailingSince)
	}
	o := failure(hookd.StateFailed, time.Time{})
	o.Attempt.StartedAt = at(time.Second)
	fourth := hookd.ApplyOutcome(leased(hookd.StateCreated), w, o, at(2*time.Second))
	fourth.ApplyTo(w)
	if !fourth.StreakStarted || w.FailingSince == nil || !w.FailingSince.Equal(at(time.Second)) {
		t.Fatalf("after a new failure: %+v, failing since %v", fourth, w.FailingSince)
	}
	// A transition that changed nothing of the webhook leaves it alone.
	before := *w
	(&hookd.Transition{}).ApplyTo(w)
	if !reflect.DeepEqual(before, *w) {
		t.Fatalf("an empty transition changed the webhook: %+v", w)
	}
}

// manualAction is Retry, Abort or Resolve with the same signature.
type manualAction func(m hookd.MessageStatus, w *hookd.Webhook, now time.Time) (hookd.Transition, error)

func retryUnblocked(m hookd.MessageStatus, w *hookd.Webhook, now time.Time) (hookd.Transition, error) {
	return hookd.Retry(m, w, false, now)
}

// Which manual action each of the seven states allows, and what it makes
// of the message.
func TestManualTransitions(t *testing.T) {
	t.Parallel()
	type result struct {
		to       hookd.MessageState
		conflict bool
	}
	tests := []struct {
		name string
		act  manualAction
		want map[hookd.MessageState]result
	}{
		{"retry", retryUnblocked, map[hookd.MessageState]result{
			hookd.StateCreated: {to: hookd.StateRetrying}, hookd.StatePending: {to: hookd.StateRetrying},
			hookd.StateRetrying: {to: hookd.StateRetrying}, hookd.StateSuccessful: {conflict: true},
			hookd.StateFailed: {to: hookd.StateRetrying}, hookd.StateAborted: {to: hookd.StateRetrying},
			hookd.StateResolved: {to: hookd.StateRetrying}}},
		{"abort", hookd.Abort, map[hookd.MessageState]result{
			hookd.StateCreated: {to: hookd.StateAborted}, hookd.StatePending: {to: hookd.StateAborted},
			hookd.StateRetrying: {to: hookd.StateAborted}, hookd.StateSuccessful: {conflict: true},
			hookd.StateFailed: {to: hookd.StateAborted}, hookd.StateAborted: {conflict: true},
			hookd.StateResolved: {conflict: true}}},
		{"resolve", hookd.Resolve, map[hookd.MessageState]result{
			hookd.StateCreated: {to: hookd.StateResolved}, hookd.StatePending: {to: hookd.StateResolved},
			hookd.StateRetrying: {to: hookd.StateResolved}, hookd.StateSuccessful: {conflict: true},
			hookd.StateFailed: {to: hookd.StateResolved}, hookd.StateAborted: {conflict: true},
			hookd.StateResolved: {conflict: true}}},
	}
	for _, tt := range tests {
		for _, st := range allState {
			t.Run(tt.name+" "+string(st), func(t *testing.T) {
				want := tt.want[st]
				tr, err := tt.act(leased(st), hook(), t0)
				if want.conflict {
					if hookd.ErrorCode(err) != hookd.ECONFLICT {
						t.Fatalf("err = %v, want a conflict", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !tr.Moved || tr.From != st || tr.To != want.to || tr.Held || tr.FailedForGood || tr.Attempt != nil {
					t.Fatalf("transition = %+v, want to %s", tr, want.to)
				}
				if tt.name == "retry" {
					if !tr.Manual || tr.NextAttemptAt == nil || !tr.NextAttemptAt.Equal(t0) || tr.DueAt == nil || !tr.DueAt.Equal(t0) {
						t.Fatalf("retried = %+v, want manual and due now", tr)
					}
				} else if tr.Manual || tr.NextAttemptAt != nil || tr.DueAt != nil {
					t.Fatalf("ended = %+v, want no next attempt", tr)
				}
			})
		}
	}
}

func TestRetry(t *testing.T) {
	t.Parallel()
	never := func(m *hookd.MessageStatus) { m.AttemptCount = 0 }
	tests := []struct {
		name      string
		m         hookd.MessageStatus
		w         *hookd.Webhook
		blocked   bool
		wantTo    hookd.MessageState
		wantDue   bool
		wantError string
	}{
		{"never attempted: created", leased(hookd.StateCreated, never), hook(), false, hookd.StateCreated, true, ""},
		{"attempted before: retrying", leased(hookd.StateFailed), hook(), false, hookd.StateRetrying, true, ""},
		{"webhook suspended: held", leased(hookd.StateFailed), hook(suspended), false, hookd.StatePending, false, ""},
		{"webhook disabled: held", leased(hookd.StateFailed), hook(disabled), false, hookd.StatePending, false, ""},
		{"group blocked: held", leased(hookd.StateAborted, grouped), hook(), true, hookd.StatePending, false, ""},
		{"webhook deleted", leased(hookd.StateFailed), nil, false, "", false, hookd.ECONFLICT},
		{"successful", leased(hookd.StateSuccessful), hook(), false, "", false, hookd.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := hookd.Retry(tt.m, tt.w, tt.blocked, t0)
			if tt.wantError != "" {
				if hookd.ErrorCode(err) != tt.wantError {
					t.Fatalf("err = %v, want %s", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr.To != tt.wantTo || (tr.DueAt != nil) != tt.wantDue || tr.Held == tt.wantDue || !tr.Manual ||
				tr.NextAttemptAt == nil || !tr.NextAttemptAt.Equal(t0) || tr.GroupReleased {
				t.Fatalf("transition = %+v", tr)
			}
		})
	}
}

// Ending a message by hand releases its group when it held the group back.
func TestEndByHandReleasesGroup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    hookd.MessageStatus
		w    *hookd.Webhook
		want bool
	}{
		{"open grouped", leased(hookd.StateRetrying, grouped), hook(), true},
		{"pending grouped", leased(hookd.StatePending, grouped), hook(), true},
		{"blocking failure", leased(hookd.StateFailed, grouped), hook(), true},
		{"failure with continue_on_failure blocked nothing", leased(hookd.StateFailed, grouped), hook(cof), false},
		{"failure of a deleted webhook", leased(hookd.StateFailed, grouped), nil, true},
		{"no group", leased(hookd.StateRetrying), hook(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, act := range []manualAction{hookd.Abort, hookd.Resolve} {
				tr, err := act(tt.m, tt.w, t0)
				if err != nil {
					t.Fatal(err)
				}
				if tr.GroupReleased != tt.want {
					t.Fatalf("%s: GroupReleased = %v, want %v", tr.To, tr.GroupReleased, tt.want)
				}
			}
		})
	}
}

func TestRelease(t *testing.T) {
	t.Parallel()
	scheduled := func(m *hookd.MessageStatus) { m.NextAttemptAt = tp(at(time.Hour)) }
	never := func(m *hookd.MessageStatus) { m.AttemptCount = 0 }
	tests := []struct {
		name    string
		m       hookd.MessageStatus
		w       *hookd.Webhook
		ok      bool
		wantTo  hookd.MessageState
		wantDue time.Time
	}{
		{"held retry keeps its backoff", leased(hookd.StatePending, scheduled), hook(), true, hookd.StateRetrying, at(time.Hour)},
		{"never scheduled: due since created", leased(hookd.StatePending, never), hook(), true, hookd.StateCreated, at(-2 * time.Hour)},
		{"webhook suspended", leased(hookd.StatePending), hook(suspended), false, "", time.Time{}},
		{"webhook disabled", leased(hookd.StatePending), hook(disabled), false, "", time.Time{}},
		{"webhook deleted", leased(hookd.StatePending), nil, false, "", time.Time{}},
	}
	for _, st := range allState {
		if st != hookd.StatePending {
			tests = append(tests, struct {
				name    string
				m       hookd.MessageStatus
				w       *hookd.Webhook
				ok      bool
				wantTo  hookd.MessageState
				wantDue time.Time
			}{"not held: " + string(st), leased(st), hook(), false, "", time.Time{}})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, ok := hookd.Release(tt.m, tt.w, t0)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if tr.To != tt.wantTo || tr.DueAt == nil || !tr.DueAt.Equal(tt.wantDue) || tr.NextAttemptAt == nil ||
				!tr.NextAttemptAt.Equal(tt.wantDue) || !tr.Moved || tr.Manual {
				t.Fatalf("released = %+v", tr)
			}
		})
	}
}

func TestDefer(t *testing.T) {
	t.Parallel()
	due := at(time.Minute)
	tests := []struct {
		name    string
		m       hookd.MessageStatus
		lease   int64
		ok      bool
		wantDue bool
	}{
		{"created", leased(hookd.StateCreated), 7, true, true},
		{"retrying", leased(hookd.StateRetrying), 7, true, true},
		{"held in flight stays held", leased(hookd.StatePending), 7, true, false},
		{"stale lease", leased(hookd.StateCreated), 8, false, false},
		{"no lease", leased(hookd.StateCreated, notLeased), 0, false, false},
		{"test message", leased(hookd.StateCreated, testMsg), 7, false, false},
		{"ended", leased(hookd.StateFailed), 7, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, ok := hookd.Defer(tt.m, tt.lease, due, t0)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if tr.To != tt.m.State || (tr.DueAt != nil) != tt.wantDue || tr.NextAttemptAt == nil || !tr.NextAttemptAt.Equal(due) ||
				(tt.wantDue && !tr.DueAt.Equal(due)) || tr.Attempt != nil {
				t.Fatalf("deferred = %+v", tr)
			}
		})
	}
}

// The state predicates a store turns into lists of states for the rules
// it applies to many messages at once.
func TestStatePredicates(t *testing.T) {
	t.Parallel()
	type row struct{ open, waiting, terminal, blocks, blocksCOF bool }
	want := map[hookd.MessageState]row{
		hookd.StateCreated:    {open: true, waiting: true, blocks: true, blocksCOF: true},
		hookd.StatePending:    {open: true, blocks: true, blocksCOF: true},
		hookd.StateRetrying:   {open: true, waiting: true, blocks: true, blocksCOF: true},
		hookd.StateSuccessful: {terminal: true},
		hookd.StateFailed:     {terminal: true, blocks: true},
		hookd.StateAborted:    {terminal: true},
		hookd.StateResolved:   {terminal: true},
	}
	for _, st := range allState {
		g := row{st.Open(), st.Waiting(), st.Terminal(), st.Blocks(false), st.Blocks(true)}
		if g != want[st] {
			t.Errorf("%s: got %+v, want %+v", st, g, want[st])
		}
	}
	if hookd.MessageState("bogus").Open() {
		t.Error("an unknown state is open")
	}
	if g, w := hookd.StatesWhere(hookd.MessageState.Waiting), []hookd.MessageState{hookd.StateCreated, hookd.StateRetrying}; !reflect.DeepEqual(g, w) {
		t.Errorf("StatesWhere(Waiting) = %v, want %v", g, w)
	}
	if g := hookd.StatesWhere(func(hookd.MessageState) bool { return false }); g != nil {
		t.Errorf("StatesWhere(none) = %v", g)
	}
}

func TestPublishedState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		w       *hookd.Webhook
		blocked bool
		want    hookd.MessageState
	}{
		{"active", hook(), false, hookd.StateCreated},
		{"behind its group", hook(), true, hookd.StatePending},
		{"suspended", hook(suspended), false, hookd.StatePending},
		{"disabled", hook(disabled), false, hookd.StatePending},
	}
	for _, tt := range tests {
		if got := hookd.PublishedState(tt.w, tt.blocked); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestWebhookChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		old, updated  *hookd.Webhook
		hold, release bool
	}{
		{"disabled", hook(), hook(disabled), true, false},
		{"suspended", hook(), hook(suspended), true, false},
		{"enabled again", hook(disabled), hook(), false, true},
		{"unsuspended", hook(suspended), hook(), false, true},
		{"unsuspended but disabled", hook(suspended, disabled), hook(disabled), false, false},
		{"continue_on_failure turned on", hook(), hook(cof), false, true},
		{"continue_on_failure turned on while disabled", hook(disabled), hook(disabled, cof), false, false},
		{"continue_on_failure turned off", hook(cof), hook(), false, false},
		{"nothing that matters", hook(), hook(func(w *hookd.Webhook) { w.Name = "x" }), false, false},
	}
	for _, tt := range tests {
		hold, release := hookd.WebhookChange(tt.old, tt.updated)
		if hold != tt.hold || release != tt.release {
			t.Errorf("%s: hold %v release %v, want %v %v", tt.name, hold, release, tt.hold, tt.release)
		}
	}
}

func TestCheckOutcomes(t *testing.T) {
	t.Parallel()
	for _, st := range allState {
		err := hookd.CheckOutcomes([]hookd.Outcome{success(), {State: st}})
		ok := st == hookd.StateSuccessful || st == hookd.StateRetrying || st == hookd.StateFailed
		if ok != (err == nil) || (err != nil && hookd.ErrorCode(err) != hookd.EINVALID) {
			t.Errorf("%s: %v", st, err)
		}
	}
}

func TestSetSuspended(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		w         *hookd.Webhook
		suspended bool
		changed   bool
		wantAt    *time.Time
		wantSince *time.Time
	}{
		{"suspend", hook(failingFor(time.Minute)), true, true, tp(t0), tp(at(-time.Minute))},
		{"suspend again keeps suspended_at", hook(suspended, failingFor(time.Minute)), true, false, tp(at(-time.Hour)), tp(at(-time.Minute))},
		{"unsuspend clears the streak", hook(suspended, failingFor(time.Minute)), false, true, nil, nil},
		{"unsuspend an active webhook still clears the streak", hook(failingFor(time.Minute)), false, true, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := hookd.SetSuspended(*tt.w, tt.suspended, t0)
			if changed != tt.changed || got.Suspended != tt.suspended ||
				!reflect.DeepEqual(got.SuspendedAt, tt.wantAt) || !reflect.DeepEqual(got.FailingSince, tt.wantSince) {
				t.Errorf("got suspended %v at %v, failing since %v, changed %v", got.Suspended, got.SuspendedAt, got.FailingSince, changed)
			}
			hold, release := hookd.WebhookChange(tt.w, &got)
			if hold != (tt.suspended && !tt.w.Suspended) || release != (!tt.suspended && tt.w.Suspended) {
				t.Errorf("hold %v, release %v", hold, release)
			}
		})
	}
}
