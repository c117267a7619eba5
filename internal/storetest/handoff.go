package storetest

import (
	"encoding/json"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// handoffStore returns s as a HandoffStore. A store without a handoff
// skips these tests, saying so; hookd's two stores have one.
func handoffStore(t *testing.T, s hookd.Store) hookd.HandoffStore {
	t.Helper()
	hs, ok := s.(hookd.HandoffStore)
	if !ok {
		t.Skip("SKIPPED: the store is no hookd.HandoffStore")
	}
	return hs
}

// keyed is an event of type typ with idempotency key "k".
func keyed(typ string) hookd.EventInput {
	return hookd.EventInput{Type: typ, Payload: json.RawMessage(`{}`), IdempotencyKey: "k"}
}

// fakeHandoff grants up to room reservations and records what it is given.
type fakeHandoff struct {
	mu        sync.Mutex
	room      int
	lease     time.Duration
	reserved  int
	released  int
	wakes     int
	delivered []*hookd.Delivery
}

// NewFakeHandoff returns a Handoff that grants up to room reservations of
// lease and records what it is given: with room 0, a stand-in for a
// registered delivery engine that takes nothing.
func NewFakeHandoff(room int, lease time.Duration) hookd.Handoff {
	return &fakeHandoff{room: room, lease: lease}
}

func (f *fakeHandoff) Reserve(n int) (int, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n = min(n, f.room)
	f.room -= n
	f.reserved += n
	return n, f.lease
}

func (f *fakeHandoff) Deliver(ds []*hookd.Delivery) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delivered = append(f.delivered, ds...)
}

func (f *fakeHandoff) Wake() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wakes++
}

func (f *fakeHandoff) Release(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released += n
}

// Publish leases the claimable messages it writes to the handoff, as far
// as it has room, and hands them over exactly as Claim would have returned
// them; held messages, and messages beyond the room, are left to Claim.
func testPublishHandsOff(t *testing.T, db hookd.Store) {
	hs := handoffStore(t, db)
	mustTenant(t, db, "a")
	w := mustWebhook(t, db, "a", "https://example.com/grouped", func(w *hookd.Webhook) { w.Grouped = true })
	held := mustWebhook(t, db, "a", "https://example.com/suspended")
	if _, err := db.SetSuspended(ctx, "a", held.ID, true, T0); err != nil {
		t.Fatal(err)
	}
	h := &fakeHandoff{room: 2, lease: time.Minute}
	hs.SetHandoff(h)

	evs := []hookd.EventInput{
		{Type: "x", Payload: json.RawMessage(`{"n":1}`), Group: "g", Attributes: map[string]string{"k": "v"}}, // head of g: handed
		{Type: "x", Payload: json.RawMessage(`{"n":2}`), Group: "g"},                                          // behind it: held
		{Type: "x", Payload: json.RawMessage(`{"n":3}`)},                                                      // handed (room 2)
		{Type: "x", Payload: json.RawMessage(`{"n":4}`), Group: "h"},                                          // no room left: claimable
	}
	res, err := db.Publish(ctx, "a", evs, T0)
	if err != nil {
		t.Fatal(err)
	}
	if h.reserved != 2 || h.released != 0 || len(h.delivered) != 2 {
		t.Fatalf("reserved %d, released %d, delivered %d; want 2, 0, 2", h.reserved, h.released, len(h.delivered))
	}
	// The message there was no room for is claimable: the engine is woken
	// for it, once for the commit.
	if h.wakes != 1 {
		t.Fatalf("woken %d times, want 1", h.wakes)
	}
	for i, want := range []string{res[0].EventID, res[2].EventID} {
		if d := h.delivered[i]; d.Event.ID != want || d.Webhook.ID != w.ID || d.Lease == 0 {
			t.Fatalf("delivery %d: event %s webhook %s lease %d; want event %s of webhook %s, leased",
				i, d.Event.ID, d.Webhook.ID, d.Lease, want, w.ID)
		}
	}

	// Claim gets only the message there was no room for: the handed ones
	// are leased until T0 + 1 min, the others are held.
	ds, err := db.Claim(ctx, T0, 10, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Event.ID != res[3].EventID {
		t.Fatalf("claimed %d deliveries, want only event %s's", len(ds), res[3].EventID)
	}
	// When the lease ends they are due again, and Claim returns them just
	// as they were handed over (but for the lease).
	ds, err = db.Claim(ctx, T0.Add(time.Minute), 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 {
		t.Fatalf("claimed %d after the lease, want the 2 handed", len(ds))
	}
	for i, c := range ds {
		d := *h.delivered[i]
		d.Lease = c.Lease
		if !reflect.DeepEqual(&d, c) {
			t.Fatalf("handed:\n%+v\nclaimed:\n%+v", d, *c)
		}
	}
	// An outcome with the handed lease is stale now, but one with the
	// claim's lease applies.
	o := hookd.Outcome{MessageID: ds[0].Message.ID, Lease: ds[0].Lease, State: hookd.StateSuccessful,
		Attempt: hookd.Attempt{StartedAt: T0.Add(time.Minute), StatusCode: 204, Success: true}}
	if err := db.Complete(ctx, []hookd.Outcome{o}, T0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if m, err := db.GetMessage(ctx, "a", ds[0].Message.ID); err != nil || m.State != hookd.StateSuccessful {
		t.Fatalf("message after Complete = %+v, %v", m, err)
	}
}

// A call that fails on a rule gives back the reservations it took, and
// nothing of it is handed over; a handoff set to nil is no longer asked.
func testPublishHandoffReleasesOnFailure(t *testing.T, db hookd.Store) {
	hs := handoffStore(t, db)
	mustTenant(t, db, "a")
	mustWebhook(t, db, "a", "https://example.com/hook")
	h := &fakeHandoff{room: 10, lease: time.Minute}
	hs.SetHandoff(h)
	// The second event reuses the first one's key with another body: the
	// call fails after the first event's message was reserved.
	if _, err := db.Publish(ctx, "a", []hookd.EventInput{keyed("x"), keyed("y")}, T0); hookd.ErrorCode(err) != hookd.ECONFLICT {
		t.Fatalf("Publish = %v, want a conflict", err)
	}
	if h.reserved != 1 || h.released != 1 || len(h.delivered) != 0 {
		t.Fatalf("reserved %d, released %d, delivered %d; want 1, 1, 0", h.reserved, h.released, len(h.delivered))
	}
	hs.SetHandoff(nil)
	if _, err := db.Publish(ctx, "a", []hookd.EventInput{keyed("x")}, T0); err != nil {
		t.Fatal(err)
	}
	if h.reserved != 1 {
		t.Fatalf("reserved %d after SetHandoff(nil), want 1", h.reserved)
	}
	if ds, err := db.Claim(ctx, T0, 10, time.Minute); err != nil || len(ds) != 1 {
		t.Fatalf("Claim = %d deliveries, %v; want the message published without a handoff", len(ds), err)
	}
}
