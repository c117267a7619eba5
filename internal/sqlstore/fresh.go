package sqlstore

import (
	"encoding/json"
	"time"

	"github.com/hookd/hookd"
)

// Fresh is the Placer of a store whose delivery engine takes messages as
// they are published (see hookd.Handoff): it hands the messages PublishTx
// writes due now off to the engine, leased, while the handoff reserves
// room for them; others are parked when ParkToken is set (the SQLite
// store's Claim reads parked messages without writing them, see
// sqlite/fresh.go), else written claimable. One Fresh serves the calls of
// one transaction; after the commit, Committed delivers the messages
// handed off, or gives their room back.
type Fresh struct {
	// Set before the transaction. Handoff nil: nothing is handed off.
	Handoff   hookd.Handoff
	Lease     int64         // the lease token of the messages handed off
	ParkToken int64         // the lease token of parked messages (0: no parking)
	ParkFor   time.Duration // how long a parked message stays leased

	// What the calls that succeeded did: the messages handed off, whether
	// one parked a message and when, and whether one wrote a message due
	// now that it did not hand off (parked or not).
	Handed    []*hookd.Delivery
	Parked    bool
	ParkedAt  time.Time
	Claimable bool

	leaseFor time.Duration // the handoff's lease length

	// The current call's: messages leased to the handoff (they join the
	// transaction's once the call succeeds; a call that fails gives their
	// reservations back), whether it parked or wrote a claimable message,
	// and the event of its last message handed off.
	callHanded                []*hookd.Delivery
	callParked, callClaimable bool
	ev                        *hookd.Event
}

// Place hands m off when the handoff takes it, else parks it when parking
// is on; see Placer.
func (r *Fresh) Place(m *FreshMessage, now time.Time) (lease, due int64, ok bool) {
	if r.reserve() {
		// Leased as Claim would lease it: due again when the lease ends.
		if r.ev == nil || r.ev.ID != m.EventID {
			r.ev = &hookd.Event{ID: m.EventID, TenantID: m.TenantID, Type: m.In.Type, Payload: json.RawMessage(m.Payload),
				Group: m.In.Group, Attributes: m.In.Attributes, IdempotencyKey: m.In.IdempotencyKey, CreatedAt: m.CreatedAt}
		}
		nextAt := m.CreatedAt // as stored: handed-off deliveries match what Claim reads
		r.callHanded = append(r.callHanded, &hookd.Delivery{
			Message: hookd.Message{ID: m.ID, TenantID: m.TenantID, WebhookID: m.Webhook.ID, EventID: m.EventID,
				EventType: m.In.Type, Group: m.In.Group, State: hookd.StateCreated, NextAttemptAt: &nextAt,
				CreatedAt: m.CreatedAt, UpdatedAt: m.CreatedAt},
			Event: *r.ev, Webhook: *m.Webhook, Lease: r.Lease, Trigger: hookd.TriggerScheduled,
		})
		return r.Lease, MS(now.Add(r.leaseFor)), true
	}
	r.callClaimable = true
	if r.ParkToken != 0 {
		r.callParked = true
		return r.ParkToken, MS(now.Add(r.ParkFor)), true
	}
	return 0, 0, false
}

// End makes a successful call's placements the transaction's, and gives a
// failed call's reservations back.
func (r *Fresh) End(ok bool, now time.Time) {
	if !ok {
		if len(r.callHanded) > 0 {
			r.Handoff.Release(len(r.callHanded))
		}
	} else {
		r.Handed = append(r.Handed, r.callHanded...)
		if r.callParked && !r.Parked {
			r.Parked, r.ParkedAt = true, now
		}
		r.Claimable = r.Claimable || r.callClaimable
	}
	clear(r.callHanded)
	r.callHanded, r.callParked, r.callClaimable = r.callHanded[:0], false, false
}

// reserve asks the handoff to take one more message.
func (r *Fresh) reserve() bool {
	if r.Handoff == nil {
		return false
	}
	n, lease := r.Handoff.Reserve(1)
	if n == 0 {
		return false
	}
	r.leaseFor = lease
	return true
}

// Committed ends the transaction: when it committed, the messages handed
// off go to the engine, and wake (the store's handoff now, nil for none)
// is woken if a message was written claimable; otherwise their
// reservations are given back.
func (r *Fresh) Committed(ok bool, wake hookd.Handoff) {
	if len(r.Handed) > 0 {
		if ok {
			r.Handoff.Deliver(r.Handed)
		} else {
			r.Handoff.Release(len(r.Handed))
		}
	}
	if ok && r.Claimable && wake != nil {
		wake.Wake()
	}
}
