package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func testPublish(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	mustTenant(t, s, "b")
	unit := mustWebhook(t, s, "a", url(1), types("Unit.*"))
	party := mustWebhook(t, s, "a", url(2), types("*"), func(w *hookd.Webhook) { w.Filter = map[string]string{"party_id": "42"} })
	disabled := mustWebhook(t, s, "a", url(3), func(w *hookd.Webhook) { w.Enabled = false })
	suspended := mustWebhook(t, s, "a", url(4), types("Unit.Updated"))
	_, err := s.SetSuspended(ctx, "a", suspended.ID, true, T0)
	must(t, err)
	mustWebhook(t, s, "b", url(5)) // another tenant's webhook never matches

	in := hookd.EventInput{Type: "Unit.Updated", Payload: json.RawMessage(`{"id":17,"name":"3rd floor"}`),
		Group: "property-12", Attributes: map[string]string{"party_id": "42", "x": "y"}}
	res := mustPublish(t, s, "a", T0, in,
		hookd.EventInput{Type: "Unit.Updated", Payload: json.RawMessage(`null`), Attributes: map[string]string{"party_id": "7"}},
		hookd.EventInput{Type: "Invoice.Paid", Payload: json.RawMessage(`[1,2]`), Attributes: map[string]string{"party_id": "42"}},
		hookd.EventInput{Type: "Nothing", Payload: json.RawMessage(`1`)},
	)
	for i, want := range []int{3, 2, 1, 0} {
		if res[i].Messages != want || res[i].Duplicate || res[i].EventID == "" {
			t.Errorf("result %d = %+v, want %d messages", i, res[i], want)
		}
	}
	if !slices.IsSorted(ids(res, func(r hookd.PublishResult) string { return r.EventID })) {
		t.Error("event ids of one batch are not ascending")
	}
	got, err := s.GetEvent(ctx, "a", res[0].EventID)
	must(t, err)
	if got.ID != res[0].EventID || got.TenantID != "a" || got.Type != in.Type || string(got.Payload) != string(in.Payload) ||
		got.Group != in.Group || got.Attributes["party_id"] != "42" || got.Attributes["x"] != "y" || !got.CreatedAt.Equal(T0) {
		t.Fatalf("GetEvent = %+v", got)
	}
	_, err = s.GetEvent(ctx, "a", "evt_missing")
	wantCode(t, err, hookd.ENOTFOUND)

	m := messageOf(t, s, "a", unit.ID, res[0].EventID)
	if m.State != hookd.StateCreated || m.EventType != "Unit.Updated" || m.Group != "property-12" || m.TenantID != "a" ||
		m.AttemptCount != 0 || !m.CreatedAt.Equal(T0) || m.NextAttemptAt == nil || !m.NextAttemptAt.Equal(T0) {
		t.Fatalf("message = %+v", m)
	}
	if got, err := s.GetMessage(ctx, "a", m.ID); err != nil || got.ID != m.ID || got.WebhookID != unit.ID {
		t.Fatalf("GetMessage = %+v, %v", got, err)
	}
	messageOf(t, s, "a", party.ID, res[0].EventID)
	messageOf(t, s, "a", party.ID, res[2].EventID)
	wantState(t, s, "a", messageOf(t, s, "a", suspended.ID, res[0].EventID).ID, hookd.StatePending)
	wantStates(t, s, "a", disabled.ID)

	// Only the active webhooks' messages are claimable.
	var want []string
	for _, x := range [][2]string{{unit.ID, res[0].EventID}, {unit.ID, res[1].EventID}, {party.ID, res[0].EventID}, {party.ID, res[2].EventID}} {
		want = append(want, messageOf(t, s, "a", x[0], x[1]).ID)
	}
	wantClaim(t, s, T0, want...)

	if r, err := s.Publish(ctx, "a", nil, T0); err != nil || len(r) != 0 {
		t.Fatalf("empty publish = %v, %v", r, err)
	}
	_, err = s.Publish(ctx, "nope", []hookd.EventInput{ev("x", "")}, T0)
	wantCode(t, err, hookd.ENOTFOUND)
}

func testPublishAllOrNothing(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	mustWebhook(t, s, "a", url(1))
	first := ev("x", "")
	first.IdempotencyKey = "k"
	mustPublish(t, s, "a", T0, first)
	clash := ev("other", "")
	clash.IdempotencyKey = "k"
	_, err := s.Publish(ctx, "a", []hookd.EventInput{ev("a", ""), ev("b", ""), clash}, at(time.Second))
	wantCode(t, err, hookd.ECONFLICT)
	evs, err := s.ListEvents(ctx, "a", hookd.EventFilter{})
	must(t, err)
	msgs, err := s.ListMessages(ctx, "a", hookd.MessageFilter{})
	must(t, err)
	if len(evs) != 1 || len(msgs) != 1 {
		t.Fatalf("after a failed batch: %d events, %d messages; want 1, 1", len(evs), len(msgs))
	}
}

func testIdempotency(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	mustTenant(t, s, "b")
	mustWebhook(t, s, "a", url(1))
	mustWebhook(t, s, "a", url(2))
	keyed := func(typ, key string) hookd.EventInput {
		in := ev(typ, "")
		in.IdempotencyKey = key
		return in
	}
	first := mustPublish(t, s, "a", T0, keyed("x", "k1"))[0]
	if first.Messages != 2 || first.Duplicate {
		t.Fatalf("first publish = %+v", first)
	}
	// A webhook created later does not change the duplicate's answer.
	mustWebhook(t, s, "a", url(3))
	for _, now := range []time.Time{at(time.Minute), at(hookd.IdempotencyWindow - time.Millisecond)} {
		dup := mustPublish(t, s, "a", now, keyed("x", "k1"))[0]
		if dup != (hookd.PublishResult{EventID: first.EventID, Messages: 2, Duplicate: true}) {
			t.Fatalf("duplicate at %v = %+v, want first event %s with 2 messages", now, dup, first.EventID)
		}
	}
	_, err := s.Publish(ctx, "a", []hookd.EventInput{keyed("y", "k1")}, at(time.Hour))
	wantCode(t, err, hookd.ECONFLICT)
	if e, ok := err.(*hookd.Error); !ok || e.ExistingID != first.EventID {
		t.Fatalf("conflict = %#v, want ExistingID %s", err, first.EventID)
	}
	// Another tenant's key space is separate.
	if r := mustPublish(t, s, "b", at(time.Minute), keyed("y", "k1"))[0]; r.Duplicate {
		t.Fatalf("tenant b saw tenant a's key: %+v", r)
	}
	// Within one batch the second use is the duplicate of the first.
	r := mustPublish(t, s, "a", at(time.Minute), keyed("z", "k2"), keyed("z", "k2"))
	if r[0].Duplicate || !r[1].Duplicate || r[1].EventID != r[0].EventID || r[1].Messages != 3 {
		t.Fatalf("batch with a repeated key = %+v", r)
	}
	// The same key with two bodies in one call: a conflict, nothing stored
	// (and no existing id: the first event is not stored either).
	_, err = s.Publish(ctx, "a", []hookd.EventInput{keyed("z", "k3"), keyed("other", "k3")}, at(time.Minute))
	wantCode(t, err, hookd.ECONFLICT)
	if e, ok := err.(*hookd.Error); !ok || e.ExistingID != "" {
		t.Fatalf("conflict within a call = %#v, want no existing id", err)
	}
	if r := mustPublish(t, s, "a", at(time.Minute), keyed("other", "k3"))[0]; r.Duplicate {
		t.Fatalf("key of a failed call was stored: %+v", r)
	}
	// Many keys at once: the known ones are duplicates, in order.
	var many, more []hookd.EventInput
	for i := range 70 {
		many = append(many, keyed("m", fmt.Sprintf("many-%d", i)))
		more = append(more, keyed("m", fmt.Sprintf("many-%d", i)), keyed("m", fmt.Sprintf("more-%d", i)))
	}
	r1 := mustPublish(t, s, "a", at(time.Minute), many...)
	r2 := mustPublish(t, s, "a", at(2*time.Minute), more...)
	for i := range 70 {
		if d, n := r2[2*i], r2[2*i+1]; d != (hookd.PublishResult{EventID: r1[i].EventID, Messages: 3, Duplicate: true}) ||
			n.Duplicate || n.Messages != 3 || r1[i].Duplicate {
			t.Fatalf("event %d: first %+v, then %+v and %+v", i, r1[i], d, n)
		}
	}
	// After the window the key is forgotten: a new event, even with a new body.
	later := mustPublish(t, s, "a", at(hookd.IdempotencyWindow), keyed("y", "k1"))[0]
	if later.Duplicate || later.EventID == first.EventID || later.Messages != 3 {
		t.Fatalf("publish after the window = %+v", later)
	}
	again := mustPublish(t, s, "a", at(hookd.IdempotencyWindow+time.Minute), keyed("y", "k1"))[0]
	if !again.Duplicate || again.EventID != later.EventID {
		t.Fatalf("duplicate of the replaced key = %+v, want %s", again, later.EventID)
	}
	got, err := s.GetEvent(ctx, "a", later.EventID)
	must(t, err)
	if got.IdempotencyKey != "k1" {
		t.Fatalf("event idempotency key = %q", got.IdempotencyKey)
	}
}

func testListEventsAndMessages(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w1 := mustWebhook(t, s, "a", url(1))
	w2 := mustWebhook(t, s, "a", url(2), types("Unit.*"))
	var evIDs []string
	for i := range 6 {
		typ := "Unit.Updated"
		if i%2 == 1 {
			typ = "Party.Created"
		}
		r := mustPublish(t, s, "a", at(time.Duration(i)*time.Hour), ev(typ, ""))
		evIDs = append(evIDs, r[0].EventID)
	}
	evs, err := s.ListEvents(ctx, "a", hookd.EventFilter{Type: "Unit.Updated"})
	must(t, err)
	if got := ids(evs, func(e *hookd.Event) string { return e.ID }); !slices.Equal(got, []string{evIDs[0], evIDs[2], evIDs[4]}) {
		t.Fatalf("events by type = %v", got)
	}
	evs, err = s.ListEvents(ctx, "a", hookd.EventFilter{Since: ptr(at(time.Hour)), Until: ptr(at(3 * time.Hour))})
	must(t, err)
	if got := ids(evs, func(e *hookd.Event) string { return e.ID }); !slices.Equal(got, evIDs[1:3]) {
		t.Fatalf("events in [1h, 3h) = %v", got)
	}
	evs, err = s.ListEvents(ctx, "a", hookd.EventFilter{Page: hookd.Page{Limit: 2, After: evIDs[2]}})
	must(t, err)
	if got := ids(evs, func(e *hookd.Event) string { return e.ID }); !slices.Equal(got, evIDs[3:5]) {
		t.Fatalf("events after %s = %v", evIDs[2], got)
	}

	all, err := s.ListMessages(ctx, "a", hookd.MessageFilter{})
	must(t, err)
	if len(all) != 9 || !slices.IsSorted(ids(all, func(m *hookd.Message) string { return m.ID })) {
		t.Fatalf("ListMessages: %d messages (want 9), sorted by id", len(all))
	}
	// Move some messages on to filter by state.
	ds := claim(t, s, at(6*time.Hour), 3)
	complete(t, s, at(6*time.Hour), success(ds[0], at(6*time.Hour)), failure(ds[1], at(6*time.Hour), at(7*time.Hour)))
	count := func(f hookd.MessageFilter) int {
		t.Helper()
		ms, err := s.ListMessages(ctx, "a", f)
		must(t, err)
		return len(ms)
	}
	for _, tt := range []struct {
		name string
		f    hookd.MessageFilter
		want int
	}{
		{"webhook", hookd.MessageFilter{WebhookID: w2.ID}, 3},
		{"event", hookd.MessageFilter{EventID: evIDs[0]}, 2},
		{"event and webhook", hookd.MessageFilter{EventID: evIDs[0], WebhookID: w1.ID}, 1},
		{"event type", hookd.MessageFilter{EventType: "Party.Created"}, 3},
		{"state", hookd.MessageFilter{States: []hookd.MessageState{hookd.StateSuccessful}}, 1},
		{"states", hookd.MessageFilter{States: []hookd.MessageState{hookd.StateSuccessful, hookd.StateRetrying}}, 2},
		{"since until", hookd.MessageFilter{Since: ptr(at(2 * time.Hour)), Until: ptr(at(4 * time.Hour))}, 3},
		{"limit", hookd.MessageFilter{Page: hookd.Page{Limit: 4}}, 4},
		{"after", hookd.MessageFilter{Page: hookd.Page{After: all[6].ID}}, 2},
	} {
		if got := count(tt.f); got != tt.want {
			t.Errorf("ListMessages %s: %d, want %d", tt.name, got, tt.want)
		}
	}
}

// Concurrent publishes with shared idempotency keys: each key ends up with
// exactly one event, every other use is its duplicate or (another body) a
// conflict naming it, and nothing else is stored.
func testConcurrentPublish(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	mustWebhook(t, s, "a", url(1))
	const clients, keys = 16, 8
	type answer struct {
		key string
		res hookd.PublishResult
		err error
	}
	answers := make(chan answer, clients*2*keys)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for k := range keys {
				// Same body per key: duplicates.
				in := ev("same", "")
				in.IdempotencyKey = fmt.Sprintf("same-%d", k)
				res, err := s.Publish(ctx, "a", []hookd.EventInput{in}, at(time.Duration(k)*time.Millisecond))
				a := answer{key: in.IdempotencyKey, err: err}
				if err == nil {
					a.res = res[0]
				}
				answers <- a
				// Two bodies per key: the loser's calls conflict.
				in = ev(fmt.Sprintf("body-%d", c%2), "")
				in.IdempotencyKey = fmt.Sprintf("clash-%d", k)
				res, err = s.Publish(ctx, "a", []hookd.EventInput{in}, at(time.Duration(k)*time.Millisecond))
				a = answer{key: in.IdempotencyKey, err: err}
				if err == nil {
					a.res = res[0]
				}
				answers <- a
			}
		})
	}
	wg.Wait()
	close(answers)
	eventOf := map[string]string{} // key → its event
	firsts := map[string]int{}
	var conflicts []answer
	for a := range answers {
		if a.err != nil {
			if hookd.ErrorCode(a.err) != hookd.ECONFLICT {
				t.Fatalf("publish with key %s: %v", a.key, a.err)
			}
			conflicts = append(conflicts, a)
			continue
		}
		if id, ok := eventOf[a.key]; ok && id != a.res.EventID {
			t.Fatalf("key %s answered with events %s and %s", a.key, id, a.res.EventID)
		}
		eventOf[a.key] = a.res.EventID
		if !a.res.Duplicate {
			firsts[a.key]++
		}
		if a.res.Messages != 1 {
			t.Fatalf("key %s: %+v, want 1 message", a.key, a.res)
		}
	}
	for _, a := range conflicts {
		var e *hookd.Error
		if !errors.As(a.err, &e) || e.ExistingID != eventOf[a.key] {
			t.Fatalf("conflict on key %s = %v, want existing id %s", a.key, a.err, eventOf[a.key])
		}
	}
	if len(eventOf) != 2*keys {
		t.Fatalf("%d keys answered with an event, want %d", len(eventOf), 2*keys)
	}
	for k, n := range firsts {
		if n != 1 {
			t.Fatalf("key %s made %d events", k, n)
		}
	}
	evs, err := s.ListEvents(ctx, "a", hookd.EventFilter{Page: hookd.Page{Limit: 1000}})
	must(t, err)
	msgs, err := s.ListMessages(ctx, "a", hookd.MessageFilter{Page: hookd.Page{Limit: 1000}})
	must(t, err)
	if len(evs) != 2*keys || len(msgs) != 2*keys {
		t.Fatalf("stored %d events and %d messages, want %d each", len(evs), len(msgs), 2*keys)
	}
}
