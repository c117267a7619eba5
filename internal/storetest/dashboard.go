package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// The dashboard's store methods (hookd.SessionStore, hookd.StatsStore),
// run for stores that implement them.

func sessionStore(t *testing.T, s hookd.Store) hookd.SessionStore {
	t.Helper()
	ss, ok := s.(hookd.SessionStore)
	if !ok {
		t.Skip("the store keeps no dashboard sessions")
	}
	return ss
}

func statsStore(t *testing.T, s hookd.Store) hookd.StatsStore {
	t.Helper()
	ss, ok := s.(hookd.StatsStore)
	if !ok {
		t.Skip("the store keeps no dashboard statistics")
	}
	return ss
}

func testSessions(t *testing.T, s hookd.Store) {
	ss := sessionStore(t, s)
	mustTenant(t, s, "a")
	root := &hookd.Session{TokenHash: hookd.HashToken("cookie-1"), CredentialHash: hookd.HashToken("root"),
		CreatedAt: T0, ExpiresAt: at(8 * time.Hour)}
	must(t, ss.CreateSession(ctx, root))
	portal := &hookd.Session{TokenHash: hookd.HashToken("cookie-2"), TenantID: "a",
		Scopes: []hookd.Scope{hookd.ScopeWebhooksRead, hookd.ScopeMessagesRead}, CreatedAt: T0, ExpiresAt: at(time.Hour)}
	must(t, ss.CreateSession(ctx, portal))
	wantCode(t, ss.CreateSession(ctx, &hookd.Session{TokenHash: "x", TenantID: "nope", ExpiresAt: at(time.Hour)}), hookd.ENOTFOUND)

	got, err := ss.FindSession(ctx, portal.TokenHash, at(time.Minute))
	must(t, err)
	if got.TenantID != "a" || !slices.Equal(got.Scopes, portal.Scopes) || got.CredentialHash != "" ||
		!got.CreatedAt.Equal(T0) || !got.ExpiresAt.Equal(at(time.Hour)) {
		t.Fatalf("FindSession = %+v, want %+v", got, portal)
	}
	if got, err := ss.FindSession(ctx, root.TokenHash, at(time.Minute)); err != nil || got.CredentialHash != root.CredentialHash {
		t.Fatalf("FindSession(root) = %+v, %v", got, err)
	}
	// Expired at its ExpiresAt; unknown; deleted.
	_, err = ss.FindSession(ctx, portal.TokenHash, at(time.Hour))
	wantCode(t, err, hookd.ENOTFOUND)
	_, err = ss.FindSession(ctx, hookd.HashToken("never"), T0)
	wantCode(t, err, hookd.ENOTFOUND)
	must(t, ss.DeleteSession(ctx, root.TokenHash))
	must(t, ss.DeleteSession(ctx, root.TokenHash)) // twice is no error
	_, err = ss.FindSession(ctx, root.TokenHash, T0)
	wantCode(t, err, hookd.ENOTFOUND)

	// Portal links work once, before they expire.
	link := &hookd.PortalLink{TokenHash: hookd.HashToken("link-1"), TenantID: "a", ReadOnly: true,
		SessionTTL: 8 * time.Hour, CreatedAt: T0, ExpiresAt: at(15 * time.Minute)}
	must(t, ss.CreatePortalLink(ctx, link))
	wantCode(t, ss.CreatePortalLink(ctx, &hookd.PortalLink{TokenHash: "y", TenantID: "nope", ExpiresAt: at(time.Hour)}), hookd.ENOTFOUND)
	late := &hookd.PortalLink{TokenHash: hookd.HashToken("link-2"), TenantID: "a", CreatedAt: T0, ExpiresAt: at(time.Minute)}
	must(t, ss.CreatePortalLink(ctx, late))
	used, err := ss.UsePortalLink(ctx, link.TokenHash, at(time.Minute))
	must(t, err)
	if used.TenantID != "a" || !used.ReadOnly || used.SessionTTL != 8*time.Hour || !used.ExpiresAt.Equal(link.ExpiresAt) {
		t.Fatalf("UsePortalLink = %+v, want %+v", used, link)
	}
	_, err = ss.UsePortalLink(ctx, link.TokenHash, at(time.Minute))
	wantCode(t, err, hookd.ENOTFOUND) // used
	_, err = ss.UsePortalLink(ctx, late.TokenHash, at(time.Minute))
	wantCode(t, err, hookd.ENOTFOUND) // expired

	// Sweep deletes expired sessions (the portal one, at 1 h).
	_, err = s.Sweep(ctx, T0.Add(-time.Hour), 100, at(2*time.Hour))
	must(t, err)
	_, err = ss.FindSession(ctx, portal.TokenHash, T0)
	wantCode(t, err, hookd.ENOTFOUND)
}

// Portal links are kept after use, listed newest first with what became
// of them, and revoking one ends the session it opened.
func testPortalLinks(t *testing.T, s hookd.Store) {
	ss := sessionStore(t, s)
	mustTenant(t, s, "a")
	mustTenant(t, s, "b")
	mk := func(token, tenant, label string, created time.Time, ttl time.Duration) *hookd.PortalLink {
		t.Helper()
		l := &hookd.PortalLink{TokenHash: hookd.HashToken(token), TenantID: tenant, Label: label, CreatedBy: "key_1",
			SessionTTL: time.Hour, CreatedAt: created, ExpiresAt: created.Add(ttl)}
		must(t, ss.CreatePortalLink(ctx, l))
		if !strings.HasPrefix(l.ID, hookd.PrefixPortalLink+"_") {
			t.Fatalf("CreatePortalLink gave id %q", l.ID)
		}
		return l
	}
	used := mk("t-used", "a", "Mieter-Portal <b>", T0, time.Hour)
	expired := mk("t-expired", "a", "", at(time.Minute), time.Minute)
	unused := mk("t-unused", "a", "support", at(2*time.Minute), time.Hour)
	revoked := mk("t-revoked", "a", "", at(3*time.Minute), time.Hour)
	theirs := mk("t-theirs", "b", "", at(4*time.Minute), time.Hour)

	got, err := ss.UsePortalLink(ctx, used.TokenHash, at(5*time.Minute))
	must(t, err)
	if got.ID != used.ID || got.Label != used.Label || got.CreatedBy != "key_1" || got.UsedAt == nil || !got.UsedAt.Equal(at(5*time.Minute)) {
		t.Fatalf("UsePortalLink = %+v", got)
	}
	portal := &hookd.Session{TokenHash: hookd.HashToken("portal-cookie"), TenantID: "a", LinkID: used.ID,
		Scopes: []hookd.Scope{hookd.ScopeWebhooksRead}, CreatedAt: at(5 * time.Minute), ExpiresAt: at(8 * time.Hour)}
	must(t, ss.CreateSession(ctx, portal))
	if ses, err := ss.FindSession(ctx, portal.TokenHash, at(6*time.Minute)); err != nil || ses.LinkID != used.ID {
		t.Fatalf("FindSession = %+v, %v, want link %s", ses, err, used.ID)
	}
	// Another tenant cannot revoke a's link; an unknown id is not found.
	_, err = ss.RevokePortalLink(ctx, "b", revoked.ID, at(6*time.Minute))
	wantCode(t, err, hookd.ENOTFOUND)
	_, err = ss.RevokePortalLink(ctx, "a", "pl_nope", at(6*time.Minute))
	wantCode(t, err, hookd.ENOTFOUND)
	r, err := ss.RevokePortalLink(ctx, "a", revoked.ID, at(6*time.Minute))
	must(t, err)
	if r.RevokedAt == nil || !r.RevokedAt.Equal(at(6*time.Minute)) {
		t.Fatalf("RevokePortalLink = %+v", r)
	}
	r, err = ss.RevokePortalLink(ctx, "a", revoked.ID, at(7*time.Minute)) // again: the first time stays
	must(t, err)
	if !r.RevokedAt.Equal(at(6 * time.Minute)) {
		t.Fatalf("revoked twice: revoked at %v", r.RevokedAt)
	}
	// A revoked link does not work.
	_, err = ss.UsePortalLink(ctx, revoked.TokenHash, at(8*time.Minute))
	wantCode(t, err, hookd.ENOTFOUND)

	now := at(9 * time.Minute)
	links, err := ss.ListPortalLinks(ctx, "a", 10)
	must(t, err)
	var gotIDs, statuses []string
	for _, l := range links {
		gotIDs, statuses = append(gotIDs, l.ID), append(statuses, l.Status(now))
	}
	wantIDs := []string{revoked.ID, unused.ID, expired.ID, used.ID}
	wantStatus := []string{hookd.LinkRevoked, hookd.LinkUnused, hookd.LinkExpired, hookd.LinkUsed}
	if !slices.Equal(gotIDs, wantIDs) || !slices.Equal(statuses, wantStatus) {
		t.Fatalf("ListPortalLinks = %v %v, want %v %v", gotIDs, statuses, wantIDs, wantStatus)
	}
	if links, err := ss.ListPortalLinks(ctx, "a", 2); err != nil || len(links) != 2 {
		t.Fatalf("ListPortalLinks(limit 2) = %d links, %v", len(links), err)
	}
	if links, err := ss.ListPortalLinks(ctx, "b", 10); err != nil || len(links) != 1 || links[0].ID != theirs.ID {
		t.Fatalf("b's links = %v, %v", links, err)
	}

	// Revoking the used link ends the session it opened.
	_, err = ss.RevokePortalLink(ctx, "a", used.ID, now)
	must(t, err)
	_, err = ss.FindSession(ctx, portal.TokenHash, now)
	wantCode(t, err, hookd.ENOTFOUND)

	// Sweep keeps a link for hookd.PortalLinkRetention after it expired.
	_, err = s.Sweep(ctx, T0.Add(-time.Hour), 100, at(hookd.PortalLinkRetention))
	must(t, err)
	if links, _ := ss.ListPortalLinks(ctx, "a", 10); len(links) != 4 {
		t.Fatalf("after a sweep within the retention: %d links, want 4", len(links))
	}
	_, err = s.Sweep(ctx, T0.Add(-time.Hour), 100, at(hookd.PortalLinkRetention+2*time.Hour))
	must(t, err)
	if links, _ := ss.ListPortalLinks(ctx, "a", 10); len(links) != 0 {
		t.Fatalf("after the retention: %d links, want 0", len(links))
	}
}

func testCountMessages(t *testing.T, s hookd.Store) {
	st := statsStore(t, s)
	mustTenant(t, s, "a")
	mustTenant(t, s, "b")
	mustTenant(t, s, "c")
	w := mustWebhook(t, s, "a", url(1), types("x"))
	held := mustWebhook(t, s, "a", url(2), types("Held"))
	_, err := s.SetSuspended(ctx, "a", held.ID, true, T0)
	must(t, err)
	off := mustWebhook(t, s, "a", url(3), func(w *hookd.Webhook) { w.Enabled = false })
	mustWebhook(t, s, "b", url(1))
	mustPublish(t, s, "b", T0, ev("x", "")) // another tenant's message
	claim(t, s, T0, 100)                    // leased: not claimed below

	old := publishIDs(t, s, w, T0, "")                       // before the window
	m := publishIDs(t, s, w, T0, "", "", "", "", "", "", "") // 7 in the window
	res := mustPublish(t, s, "a", T0, ev("Held", ""))
	pending := messageOf(t, s, "a", held.ID, res[0].EventID).ID
	ds := wantClaim(t, s, T0, append(old, m...)...)
	complete(t, s, T0, success(ds[old[0]], T0), success(ds[m[0]], T0), success(ds[m[1]], T0), failHard(ds[m[2]], T0),
		failure(ds[m[3]], T0, at(time.Hour)), failHard(ds[m[4]], T0), failHard(ds[m[5]], T0))
	// m[6] stays created.
	mustPublish(t, s, "b", T0, ev("y", "")) // in the window, but b's
	_, err = s.AbortMessage(ctx, "a", m[4], T0)
	must(t, err)
	_, err = s.ResolveMessage(ctx, "a", m[5], T0)
	must(t, err)
	_ = off

	from := m[0]
	got, err := st.CountMessages(ctx, []string{"a", "b", "c"}, from, 100)
	must(t, err)
	if len(got) != 3 || got[0].TenantID != "a" || got[1].TenantID != "b" || got[2].TenantID != "c" {
		t.Fatalf("CountMessages tenants = %+v", got)
	}
	want := map[hookd.MessageState]int{hookd.StateSuccessful: 2, hookd.StateFailed: 1, hookd.StateRetrying: 1,
		hookd.StateAborted: 1, hookd.StateResolved: 1, hookd.StateCreated: 1, hookd.StatePending: 1}
	if got[0].Total != 8 || !mapsEqual(got[0].States, want) {
		t.Fatalf("counts of a = %d %v, want 8 %v", got[0].Total, got[0].States, want)
	}
	if got[1].Total != 1 || got[2].Total != 0 || got[2].States[hookd.StateSuccessful] != 0 {
		t.Fatalf("counts of b, c = %+v, %+v", got[1], got[2])
	}
	_ = pending

	// Capped: at most limit+1 per count, and successful unknown (-1)
	// once the total passes the limit.
	got, err = st.CountMessages(ctx, []string{"a"}, from, 3)
	must(t, err)
	if got[0].Total != 4 || got[0].States[hookd.StateSuccessful] != -1 || got[0].States[hookd.StateFailed] != 1 {
		t.Fatalf("capped counts = %+v", got[0])
	}
	// A window that starts after every message counts none.
	got, err = st.CountMessages(ctx, []string{"a"}, hookd.MinID(hookd.PrefixMessage, time.Now().Add(time.Hour)), 100)
	must(t, err)
	if got[0].Total != 0 || got[0].States[hookd.StateSuccessful] != 0 {
		t.Fatalf("counts of an empty window = %+v", got[0])
	}

	wc, err := st.CountWebhooks(ctx, []string{"a", "c"})
	must(t, err)
	if len(wc) != 2 || wc[0] != (hookd.WebhookCounts{TenantID: "a", Webhooks: 3, Suspended: 1, Disabled: 1, Failing: 1}) ||
		wc[1] != (hookd.WebhookCounts{TenantID: "c"}) {
		t.Fatalf("CountWebhooks = %+v", wc)
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func testWebhookHealth(t *testing.T, s hookd.Store) {
	st := statsStore(t, s)
	mustTenant(t, s, "a")
	mustTenant(t, s, "b")
	w1 := mustWebhook(t, s, "a", url(1))
	w2 := mustWebhook(t, s, "a", url(2), types("other"))
	wb := mustWebhook(t, s, "b", url(1))
	m := publishIDs(t, s, w1, T0, "", "", "")
	ds := wantClaim(t, s, T0, append(m, ids(mustPublish(t, s, "b", T0, ev("x", "")),
		func(r hookd.PublishResult) string { return messageOf(t, s, "b", wb.ID, r.EventID).ID })...)...)
	// w1: two successes in the first bucket (12 ms), a failure 10 min
	// later (30 ms). Another tenant's attempt and a test call are not
	// counted.
	var outs []hookd.Outcome
	for _, d := range ds {
		switch {
		case d.Message.TenantID == "b":
			outs = append(outs, success(d, T0))
		case d.Message.ID == m[2]:
			outs = append(outs, failHard(d, at(10*time.Minute)))
		case d.Message.WebhookID == w1.ID:
			outs = append(outs, success(d, at(time.Minute)))
		}
	}
	complete(t, s, at(10*time.Minute), outs...)
	test, err := s.CreateTestMessage(ctx, "a", w1.ID, ev("webhook.test", ""), T0)
	must(t, err)
	complete(t, s, T0, success(test, T0))

	h, err := st.WebhookHealth(ctx, "a", []string{w1.ID, w2.ID}, T0, at(time.Hour), 5*time.Minute)
	must(t, err)
	if len(h) != 1 || h[w1.ID] == nil {
		t.Fatalf("WebhookHealth = %v, want w1 only", h)
	}
	got := h[w1.ID]
	if got.Total.Attempts != 3 || got.Total.Successes != 2 || len(got.Points) != 2 {
		t.Fatalf("health = %+v", got)
	}
	if p := got.Points[0]; !p.Start.Equal(T0) || p.Attempts != 2 || p.Successes != 2 {
		t.Errorf("first point = %+v", p)
	}
	if p := got.Points[1]; !p.Start.Equal(at(10*time.Minute)) || p.Attempts != 1 || p.Successes != 0 {
		t.Errorf("second point = %+v", p)
	}
	if p50, ok := got.Total.Latency.Quantile(0.5); !ok || p50 < 8 || p50 > 12 {
		t.Errorf("p50 = %v, %v; want in the 12 ms bin", p50, ok)
	}
	if p99, ok := got.Total.Latency.Quantile(0.99); !ok || p99 < 27 || p99 > 40 {
		t.Errorf("p99 = %v, %v; want in the 30 ms bin", p99, ok)
	}
	// One hour step: one point. All webhooks when none is named. A window
	// after the attempts: nothing.
	h, err = st.WebhookHealth(ctx, "a", nil, T0, at(time.Hour), time.Hour)
	must(t, err)
	if len(h) != 1 || len(h[w1.ID].Points) != 1 || h[w1.ID].Points[0].Attempts != 3 {
		t.Fatalf("hourly health = %+v", h[w1.ID])
	}
	h, err = st.WebhookHealth(ctx, "a", []string{w1.ID}, at(time.Hour), at(2*time.Hour), time.Hour)
	must(t, err)
	if len(h) != 0 {
		t.Fatalf("health of an empty window = %+v", h)
	}
	// Another tenant's webhook is never seen through a's id.
	h, err = st.WebhookHealth(ctx, "a", []string{wb.ID}, T0, at(time.Hour), time.Hour)
	must(t, err)
	if len(h) != 0 {
		t.Fatalf("health of b's webhook through a = %+v", h)
	}
	// Sweep deletes statistics older than StatsRetention.
	_, err = s.Sweep(ctx, T0.Add(-time.Hour), 1000, at(hookd.StatsRetention+time.Hour))
	must(t, err)
	h, err = st.WebhookHealth(ctx, "a", nil, T0, at(time.Hour), time.Hour)
	must(t, err)
	if len(h) != 0 {
		t.Fatalf("health after sweep = %+v", h)
	}
}

func testBrowse(t *testing.T, s hookd.Store) {
	st := statsStore(t, s)
	mustTenant(t, s, "a")
	mustTenant(t, s, "b")
	w1 := mustWebhook(t, s, "a", url(1))
	w2 := mustWebhook(t, s, "a", url(2))
	mustWebhook(t, s, "b", url(1))
	mustPublish(t, s, "b", T0, ev("x", ""))
	var evs []hookd.EventInput
	for i := range 10 {
		typ := "Unit.Created"
		if i%2 == 1 {
			typ = "Unit.Deleted"
		}
		evs = append(evs, ev(typ, map[bool]string{true: "g1", false: ""}[i == 3]))
	}
	res := mustPublish(t, s, "a", T0, evs...)

	// Newest first, in pages of 7 across both webhooks' 20 messages.
	all, next, err := st.BrowseMessages(ctx, "a", hookd.MessageQuery{Limit: 7})
	must(t, err)
	if len(all) != 7 || next.Before != all[6].ID || next.Scanned {
		t.Fatalf("first page: %d messages, next %+v", len(all), next)
	}
	seen := ids(all, func(m *hookd.Message) string { return m.ID })
	for next.Before != "" {
		var page []*hookd.Message
		page, next, err = st.BrowseMessages(ctx, "a", hookd.MessageQuery{Limit: 7, Before: next.Before})
		must(t, err)
		seen = append(seen, ids(page, func(m *hookd.Message) string { return m.ID })...)
	}
	if len(seen) != 20 || !slices.IsSortedFunc(seen, func(a, b string) int { return -compare(a, b) }) {
		t.Fatalf("browsed %d messages, newest first %v", len(seen), seen)
	}

	// Filters: webhook, event type, group, states; From bounds the window.
	byHook, _, err := st.BrowseMessages(ctx, "a", hookd.MessageQuery{WebhookID: w2.ID, EventType: "Unit.Deleted"})
	must(t, err)
	if len(byHook) != 5 || byHook[0].WebhookID != w2.ID || byHook[0].EventType != "Unit.Deleted" {
		t.Fatalf("webhook and type filter: %d messages", len(byHook))
	}
	grp, _, err := st.BrowseMessages(ctx, "a", hookd.MessageQuery{Group: "g1"})
	must(t, err)
	if len(grp) != 2 || grp[0].Group != "g1" {
		t.Fatalf("group filter: %+v", grp)
	}
	from := seen[4] // the 5 newest
	win, next, err := st.BrowseMessages(ctx, "a", hookd.MessageQuery{From: from})
	must(t, err)
	if len(win) != 5 || next.Before != "" {
		t.Fatalf("window from the 5th newest: %d messages, next %+v", len(win), next)
	}
	none, _, err := st.BrowseMessages(ctx, "a", hookd.MessageQuery{States: []hookd.MessageState{hookd.StateFailed}})
	must(t, err)
	if len(none) != 0 {
		t.Fatalf("failed filter found %d", len(none))
	}
	created, _, err := st.BrowseMessages(ctx, "a", hookd.MessageQuery{States: []hookd.MessageState{hookd.StateCreated, hookd.StateFailed}})
	must(t, err)
	if len(created) != 20 {
		t.Fatalf("created or failed: %d, want 20", len(created))
	}

	// A scan bound: only the 6 newest are examined for the type filter.
	newest, _, err := st.BrowseMessages(ctx, "a", hookd.MessageQuery{Limit: 6})
	must(t, err)
	inScan := 0
	for _, m := range newest {
		if m.EventType == "Unit.Created" {
			inScan++
		}
	}
	scanned, next, err := st.BrowseMessages(ctx, "a", hookd.MessageQuery{EventType: "Unit.Created", Scan: 6})
	must(t, err)
	if len(scanned) != inScan || !next.Scanned || next.Before != seen[5] {
		t.Fatalf("scan of 6: %d messages, next %+v (want %d, scanned, before %s)", len(scanned), next, inScan, seen[5])
	}
	rest, _, err := st.BrowseMessages(ctx, "a", hookd.MessageQuery{EventType: "Unit.Created", Before: next.Before, Scan: 100})
	must(t, err)
	if len(rest) != 10-inScan {
		t.Fatalf("after the scan bound: %d, want %d", len(rest), 10-inScan)
	}
	_ = w1

	// Events, newest first, a type filter, and the messages each made.
	evsGot, next, err := st.BrowseEvents(ctx, "a", hookd.EventQuery{Limit: 4})
	must(t, err)
	if len(evsGot) != 4 || evsGot[0].ID != res[9].EventID || next.Before != res[6].EventID {
		t.Fatalf("events page = %v, next %+v", ids(evsGot, func(e *hookd.Event) string { return e.ID }), next)
	}
	typed, _, err := st.BrowseEvents(ctx, "a", hookd.EventQuery{Type: "Unit.Deleted", Scan: 4})
	must(t, err)
	if len(typed) != 2 || typed[0].Type != "Unit.Deleted" {
		t.Fatalf("typed events = %d", len(typed))
	}
	ms, err := st.MessagesOfEvents(ctx, "a", []string{res[0].EventID, res[1].EventID})
	must(t, err)
	if len(ms) != 4 || ms[0].EventID != res[0].EventID {
		t.Fatalf("messages of 2 events = %d", len(ms))
	}
	other, err := st.MessagesOfEvents(ctx, "b", []string{res[0].EventID})
	must(t, err)
	if len(other) != 0 {
		t.Fatalf("b sees a's messages: %v", other)
	}
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
