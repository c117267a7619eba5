// Package storetest is the one test suite every hookd.Store adapter passes:
// the semantics of store.go's doc comments, checked through the interface
// only. Adapters run it from their own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Exercise(t, func(t *testing.T) hookd.Store { return MustOpenDB(t) })
//	}
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// T0 is the suite's clock origin; every test passes explicit times derived
// from it (whole milliseconds, the precision a store must keep).
var T0 = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)

// Lease is the lease the suite claims with.
const Lease = time.Minute

// Exercise runs the suite. open must return a fresh, empty store for each
// call and close it when t ends (t.Cleanup). Subtests run in parallel.
func Exercise(t *testing.T, open func(t *testing.T) hookd.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s hookd.Store)
	}{
		{"TenantsAndKeys", testTenantsAndKeys},
		{"DeleteTenant", testDeleteTenant},
		{"TenantIsolation", testTenantIsolation},
		{"WebhookCRUD", testWebhookCRUD},
		{"WebhookDuplicateURL", testWebhookDuplicateURL},
		{"WebhookLongestURLAndFilter", testWebhookLongestURLAndFilter},
		{"WebhookNumbers", testWebhookNumbers},
		{"WebhookNumbersConcurrent", testWebhookNumbersConcurrent},
		{"ListWebhooksFilters", testListWebhooksFilters},
		{"ListWebhooksPagination", testListWebhooksPagination},
		{"Publish", testPublish},
		{"PublishAllOrNothing", testPublishAllOrNothing},
		{"Idempotency", testIdempotency},
		{"ConcurrentPublish", testConcurrentPublish},
		{"ListEventsAndMessages", testListEventsAndMessages},
		{"ClaimComplete", testClaimComplete},
		{"ClaimOrderAndLimit", testClaimOrderAndLimit},
		{"RetrySchedule", testRetrySchedule},
		{"LeaseExpiryAndStaleLease", testLeaseExpiryAndStaleLease},
		{"ReleaseLeases", testReleaseLeases},
		{"ReleaseLeasesEndsTestMessages", testReleaseLeasesEndsTestMessages},
		{"DeferMessage", testDeferMessage},
		{"DeferMessages", testDeferMessages},
		{"AttemptID", testAttemptID},
		{"CompleteBatch", testCompleteBatch},
		{"ConcurrentClaims", testConcurrentClaims},
		{"GroupOrder", testGroupOrder},
		{"GroupContinueOnFailure", testGroupContinueOnFailure},
		{"GroupFailureResolve", groupFailureUnblock(unlockResolve, hookd.StateResolved)},
		{"GroupFailureAbort", groupFailureUnblock(unlockAbort, hookd.StateAborted)},
		{"GroupFailureRetry", groupFailureUnblock(unlockRetry, hookd.StateSuccessful)},
		{"HoldOnSuspend", testHoldOnSuspend},
		{"HoldOnDisable", testHoldOnDisable},
		{"SuspendAfter", testSuspendAfter},
		{"ManualOps", testManualOps},
		{"Recover", testRecover},
		{"RecoverSkipsTestMessages", testRecoverSkipsTestMessages},
		{"DeleteWebhook", testDeleteWebhook},
		{"TestMessage", testTestMessage},
		{"TestAttemptsKeepStreak", testTestAttemptsKeepStreak},
		{"Sweep", testSweep},
		{"PublishHandsOff", testPublishHandsOff},
		{"PublishHandoffReleasesOnFailure", testPublishHandoffReleasesOnFailure},
		{"Sessions", testSessions},
		{"PortalLinks", testPortalLinks},
		{"CountMessages", testCountMessages},
		{"WebhookHealth", testWebhookHealth},
		{"Browse", testBrowse},
		{"ApplyToMessages", testApplyToMessages},
		{"EventTypes", testEventTypes},
		{"EventTypeLimit", testEventTypeLimit},
		{"CountMessagesByState", testCountMessagesByState},
		{"MessagesByPosition", testMessagesByPosition},
		{"Observer", testObserver},
		{"OperationalEvents", testOperationalEvents},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

var ctx = context.Background()

// at returns T0 + d.
func at(d time.Duration) time.Time { return T0.Add(d) }

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := hookd.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustTenant(t *testing.T, s hookd.Store, id string) {
	t.Helper()
	must(t, s.CreateTenant(ctx, &hookd.Tenant{ID: id, Name: "Tenant " + id}))
}

// mustWebhook creates a webhook for every event type at url, changed by
// opts.
func mustWebhook(t *testing.T, s hookd.Store, tenantID, url string, opts ...func(*hookd.Webhook)) *hookd.Webhook {
	t.Helper()
	w := hookd.NewWebhookDefaults()
	w.TenantID = tenantID
	w.Name = "hook " + url
	w.URL = url
	w.EventTypes = []string{"*"}
	w.Secrets = []hookd.Secret{{Value: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0", CreatedAt: T0}}
	for _, o := range opts {
		o(w)
	}
	must(t, s.CreateWebhook(ctx, w))
	if w.ID == "" {
		t.Fatal("CreateWebhook assigned no id")
	}
	return w
}

func grouped(cont bool) func(*hookd.Webhook) {
	return func(w *hookd.Webhook) { w.Grouped, w.ContinueOnFailure = true, cont }
}

// filter sets the webhook's filter to the pairs kv (key, value, …).
func filter(kv ...string) func(*hookd.Webhook) {
	return func(w *hookd.Webhook) {
		w.Filter = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			w.Filter[kv[i]] = kv[i+1]
		}
	}
}

func types(ts ...string) func(*hookd.Webhook) {
	return func(w *hookd.Webhook) { w.EventTypes = ts }
}

func ev(typ, group string) hookd.EventInput {
	return hookd.EventInput{Type: typ, Payload: json.RawMessage(`{"n":1}`), Group: group}
}

func mustPublish(t *testing.T, s hookd.Store, tenantID string, now time.Time, evs ...hookd.EventInput) []hookd.PublishResult {
	t.Helper()
	res, err := s.Publish(ctx, tenantID, evs, now)
	must(t, err)
	if len(res) != len(evs) {
		t.Fatalf("Publish returned %d results for %d events", len(res), len(evs))
	}
	return res
}

// messageOf returns the message of event eventID for webhook webhookID.
func messageOf(t *testing.T, s hookd.Store, tenantID, webhookID, eventID string) *hookd.Message {
	t.Helper()
	ms, err := s.ListMessages(ctx, tenantID, hookd.MessageFilter{WebhookID: webhookID, EventID: eventID})
	must(t, err)
	if len(ms) != 1 {
		t.Fatalf("messages of event %s for webhook %s: %d, want 1", eventID, webhookID, len(ms))
	}
	return ms[0]
}

// states returns the states of the webhook's messages in publish order.
func states(t *testing.T, s hookd.Store, tenantID, webhookID string) []hookd.MessageState {
	t.Helper()
	ms, err := s.ListMessages(ctx, tenantID, hookd.MessageFilter{WebhookID: webhookID, Page: hookd.Page{Limit: 1000}})
	must(t, err)
	out := make([]hookd.MessageState, len(ms))
	for i, m := range ms {
		out[i] = m.State
	}
	return out
}

func wantStates(t *testing.T, s hookd.Store, tenantID, webhookID string, want ...hookd.MessageState) {
	t.Helper()
	if got := states(t, s, tenantID, webhookID); !slices.Equal(got, want) {
		t.Fatalf("states = %v, want %v", got, want)
	}
}

func wantState(t *testing.T, s hookd.Store, tenantID, id string, want hookd.MessageState) *hookd.Message {
	t.Helper()
	m, err := s.GetMessage(ctx, tenantID, id)
	must(t, err)
	if m.State != want {
		t.Fatalf("message %s state = %s, want %s", id, m.State, want)
	}
	return m
}

func claim(t *testing.T, s hookd.Store, now time.Time, limit int) []*hookd.Delivery {
	t.Helper()
	ds, err := s.Claim(ctx, now, limit, Lease)
	must(t, err)
	return ds
}

// claimIDs claims up to 100 messages and returns their ids, sorted.
func claimIDs(t *testing.T, s hookd.Store, now time.Time) ([]string, map[string]*hookd.Delivery) {
	t.Helper()
	ds := claim(t, s, now, 100)
	ids := make([]string, 0, len(ds))
	byID := map[string]*hookd.Delivery{}
	for _, d := range ds {
		ids = append(ids, d.Message.ID)
		byID[d.Message.ID] = d
	}
	slices.Sort(ids)
	return ids, byID
}

func wantClaim(t *testing.T, s hookd.Store, now time.Time, want ...string) map[string]*hookd.Delivery {
	t.Helper()
	got, byID := claimIDs(t, s, now)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("claimed %v, want %v", got, want)
	}
	return byID
}

func success(d *hookd.Delivery, now time.Time) hookd.Outcome {
	return hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateSuccessful,
		Attempt: hookd.Attempt{Trigger: d.Trigger, StartedAt: now, DurationMS: 12, StatusCode: 200, Success: true}}
}

// failure is a failed attempt; next zero means the message failed for good.
func failure(d *hookd.Delivery, now time.Time, next time.Time) hookd.Outcome {
	o := hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateFailed,
		Attempt: hookd.Attempt{Trigger: d.Trigger, StartedAt: now, DurationMS: 30, StatusCode: 500,
			Error: hookd.AttemptErrStatus, ResponseBody: "boom"}}
	if !next.IsZero() {
		o.State, o.NextAttemptAt = hookd.StateRetrying, next
	}
	return o
}

func complete(t *testing.T, s hookd.Store, now time.Time, os ...hookd.Outcome) {
	t.Helper()
	must(t, s.Complete(ctx, os, now))
}

// deliverOne claims exactly the message id at now and completes it with o.
func deliverOne(t *testing.T, s hookd.Store, now time.Time, id string, o func(*hookd.Delivery, time.Time) hookd.Outcome) {
	t.Helper()
	ds := wantClaim(t, s, now, id)
	complete(t, s, now, o(ds[id], now))
}

func succeed(d *hookd.Delivery, now time.Time) hookd.Outcome { return success(d, now) }
func failHard(d *hookd.Delivery, now time.Time) hookd.Outcome {
	return failure(d, now, time.Time{})
}

func ptr[T any](v T) *T { return &v }

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func webhookID(w *hookd.Webhook) string { return w.ID }

func url(i int) string { return fmt.Sprintf("https://example.com/hook/%d", i) }
