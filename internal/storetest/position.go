package storetest

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// Lists paged by position (MessageFilter.Offset) and their totals
// (CountMessagesMatching), for a webhook with messages in each of the
// seven states, another webhook of the tenant and one of another tenant:
// every filter's page at every offset is that slice of the filter's whole
// list, and its count the list's length; a count needs no webhook that
// still exists, and never counts another tenant's messages.
func testMessagesByPosition(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	mustTenant(t, s, "b")
	w := mustWebhook(t, s, "a", url(1), types("x"), grouped(false))
	v := mustWebhook(t, s, "a", url(2), types("x", "y"))
	wb := mustWebhook(t, s, "b", url(1), types("x"))
	m := publishIDs(t, s, w, T0, "", "", "", "", "", "", "", "", "", "g", "g", "")
	mustPublish(t, s, "a", at(time.Hour), ev("y", ""), ev("y", ""))
	mustPublish(t, s, "b", T0, ev("x", ""))
	_, ds := claimIDs(t, s, T0)
	complete(t, s, T0, success(ds[m[0]], T0), success(ds[m[1]], T0), success(ds[m[2]], T0),
		failHard(ds[m[3]], T0), failHard(ds[m[4]], T0), failure(ds[m[5]], T0, at(time.Hour)))
	_, err := s.AbortMessage(ctx, "a", m[7], T0)
	must(t, err)
	_, err = s.ResolveMessage(ctx, "a", m[8], T0)
	must(t, err)
	// m[6], m[9] and m[11] stay created; m[10] waits behind m[9], its group's.
	wantStates(t, s, "a", w.ID, successful, successful, successful, failed, failed, retrying, created, aborted,
		resolved, created, pending, created)
	var vds []*hookd.Delivery
	for _, d := range ds {
		if d.Webhook.ID == v.ID {
			vds = append(vds, d)
		}
	}
	if len(vds) != 12 {
		t.Fatalf("claimed %d messages of webhook v, want 12", len(vds))
	}
	slices.SortFunc(vds, func(a, b *hookd.Delivery) int { return compare(a.Message.ID, b.Message.ID) })
	complete(t, s, T0, failHard(vds[0], T0), success(vds[1], T0), failHard(vds[5], T0))

	check := func(name string, f hookd.MessageFilter) {
		t.Helper()
		all, err := s.ListMessages(ctx, "a", hookd.MessageFilter{Page: hookd.Page{Limit: 1000}})
		must(t, err)
		var want []string
		for _, msg := range all {
			if matches(msg, f) {
				want = append(want, msg.ID)
			}
		}
		n, err := s.CountMessagesMatching(ctx, "a", f)
		must(t, err)
		if n != len(want) {
			t.Errorf("%s: CountMessagesMatching = %d, want %d", name, n, len(want))
		}
		for _, limit := range []int{1, 3} {
			for offset := -1; offset <= len(want)+1; offset++ {
				g := f
				g.Offset, g.Limit = offset, limit
				ms, err := s.ListMessages(ctx, "a", g)
				must(t, err)
				from := min(max(offset, 0), len(want))
				if got, want := ids(ms, func(m *hookd.Message) string { return m.ID }), want[from:min(from+limit, len(want))]; !slices.Equal(got, want) {
					t.Errorf("%s: page of %d at offset %d = %v, want %v", name, limit, offset, got, want)
				}
			}
		}
		// An offset however large is an empty page (no overflow of
		// LIMIT + OFFSET in either database).
		for _, offset := range []int{math.MaxInt32 * 100, math.MaxInt} {
			g := f
			g.Offset, g.Limit = offset, 1000
			ms, err := s.ListMessages(ctx, "a", g)
			must(t, err)
			if len(ms) != 0 {
				t.Errorf("%s: page at offset %d has %d messages, want none", name, offset, len(ms))
			}
		}
		if len(want) >= 4 {
			g := f
			g.After, g.Offset, g.Limit = want[0], 1, 2
			ms, err := s.ListMessages(ctx, "a", g)
			must(t, err)
			if got := ids(ms, func(m *hookd.Message) string { return m.ID }); !slices.Equal(got, want[2:4]) {
				t.Errorf("%s: page of 2 at offset 1 after the first = %v, want %v", name, got, want[2:4])
			}
		}
	}
	st := func(states ...hookd.MessageState) []hookd.MessageState { return states }
	filters := func() {
		t.Helper()
		check("all", hookd.MessageFilter{})
		for _, wh := range []*hookd.Webhook{w, v} {
			check("webhook "+wh.URL, hookd.MessageFilter{WebhookID: wh.ID})
			for _, state := range hookd.States {
				check(fmt.Sprintf("webhook %s, %s", wh.URL, state), hookd.MessageFilter{WebhookID: wh.ID, States: st(state)})
			}
		}
		for _, state := range hookd.States {
			check(string(state), hookd.MessageFilter{States: st(state)})
		}
		check("webhook, successful or failed", hookd.MessageFilter{WebhookID: w.ID, States: st(successful, failed)})
		check("webhook, successful, aborted or created", hookd.MessageFilter{WebhookID: w.ID, States: st(successful, aborted, created)})
		check("webhook, open", hookd.MessageFilter{WebhookID: w.ID, States: st(created, pending, retrying)})
		check("webhook, failed twice", hookd.MessageFilter{WebhookID: w.ID, States: st(failed, failed)})
		check("webhook, a state that is none", hookd.MessageFilter{WebhookID: w.ID, States: st("nope")})
		check("webhook, failed or none", hookd.MessageFilter{WebhookID: w.ID, States: st("nope", failed)})
		check("successful or failed", hookd.MessageFilter{States: st(failed, successful)})
		check("event type", hookd.MessageFilter{EventType: "y"})
		check("webhook, event type", hookd.MessageFilter{WebhookID: v.ID, EventType: "x"})
		check("webhook, event", hookd.MessageFilter{WebhookID: w.ID, EventID: messageEvent(t, s, m[4])})
		check("webhook, failed, since", hookd.MessageFilter{WebhookID: v.ID, States: st(failed), Since: ptr(T0)})
		check("since, until", hookd.MessageFilter{Since: ptr(at(time.Minute)), Until: ptr(at(2 * time.Hour))})
		check("another tenant's webhook", hookd.MessageFilter{WebhookID: wb.ID})
		check("another tenant's webhook, successful", hookd.MessageFilter{WebhookID: wb.ID, States: st(successful)})
	}
	filters()
	// Another tenant's webhook has messages of its own, none of a's.
	if n, err := s.CountMessagesMatching(ctx, "b", hookd.MessageFilter{WebhookID: wb.ID}); err != nil || n != 1 {
		t.Fatalf("count of b's webhook for b = %d, %v; want 1", n, err)
	}
	for _, f := range []hookd.MessageFilter{{WebhookID: wb.ID}, {WebhookID: wb.ID, States: st(created)},
		{WebhookID: wb.ID, States: st(successful)}} {
		if n, err := s.CountMessagesMatching(ctx, "a", f); err != nil || n != 0 {
			t.Fatalf("count of b's webhook for a (%v) = %d, %v; want 0", f.States, n, err)
		}
	}
	// A deleted webhook's messages stay, aborted: they are counted and
	// paged as long as they are kept.
	must(t, s.DeleteWebhook(ctx, "a", v.ID))
	filters()
}

// matches says whether m is one of f's messages, as the Store decides it
// (f's Page and Offset aside).
func matches(m *hookd.Message, f hookd.MessageFilter) bool {
	return (f.WebhookID == "" || m.WebhookID == f.WebhookID) && (f.EventID == "" || m.EventID == f.EventID) &&
		(len(f.States) == 0 || slices.Contains(f.States, m.State)) && (f.EventType == "" || m.EventType == f.EventType) &&
		(f.Since == nil || !m.CreatedAt.Before(*f.Since)) && (f.Until == nil || m.CreatedAt.Before(*f.Until))
}

// messageEvent returns the event id of tenant a's message id.
func messageEvent(t *testing.T, s hookd.Store, id string) string {
	t.Helper()
	m, err := s.GetMessage(ctx, "a", id)
	must(t, err)
	return m.EventID
}
