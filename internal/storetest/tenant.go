package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func testTenantsAndKeys(t *testing.T, s hookd.Store) {
	must(t, s.Ping(ctx))
	for _, id := range []string{"c", "a", "b"} {
		mustTenant(t, s, id)
	}
	wantCode(t, s.CreateTenant(ctx, &hookd.Tenant{ID: "a"}), hookd.ECONFLICT)
	got, err := s.GetTenant(ctx, "a")
	must(t, err)
	if got.ID != "a" || got.Name != "Tenant a" || got.CreatedAt.IsZero() {
		t.Fatalf("GetTenant = %+v", got)
	}
	_, err = s.GetTenant(ctx, "nope")
	wantCode(t, err, hookd.ENOTFOUND)
	page1, err := s.ListTenants(ctx, hookd.Page{Limit: 2})
	must(t, err)
	page2, err := s.ListTenants(ctx, hookd.Page{Limit: 2, After: page1[len(page1)-1].ID})
	must(t, err)
	all := append(ids(page1, func(t *hookd.Tenant) string { return t.ID }), ids(page2, func(t *hookd.Tenant) string { return t.ID })...)
	if want := []string{"a", "b", "c"}; !slices.Equal(all, want) {
		t.Fatalf("tenant pages = %v, want %v", all, want)
	}

	wantCode(t, s.CreateAPIKey(ctx, &hookd.APIKey{TenantID: "nope", Name: "x", TokenHash: "h0"}), hookd.ENOTFOUND)
	token := hookd.NewToken()
	k := &hookd.APIKey{TenantID: "a", Name: "erp", Scopes: []hookd.Scope{hookd.ScopeEventsWrite, hookd.ScopeMessagesRead},
		TokenHash: hookd.HashToken(token), Prefix: token[:8]}
	must(t, s.CreateAPIKey(ctx, k))
	if k.ID == "" {
		t.Fatal("CreateAPIKey assigned no id")
	}
	k2 := &hookd.APIKey{TenantID: "a", Name: "other", Scopes: []hookd.Scope{hookd.ScopeAdmin}, TokenHash: hookd.HashToken("t2")}
	must(t, s.CreateAPIKey(ctx, k2))
	found, err := s.FindAPIKey(ctx, hookd.HashToken(token))
	must(t, err)
	if found.ID != k.ID || found.TenantID != "a" || found.Name != "erp" || found.Prefix != token[:8] ||
		!slices.Equal(found.Scopes, k.Scopes) || found.TokenHash != k.TokenHash {
		t.Fatalf("FindAPIKey = %+v, want %+v", found, k)
	}
	_, err = s.FindAPIKey(ctx, hookd.HashToken("unknown"))
	wantCode(t, err, hookd.ENOTFOUND)
	if found.LastUsedAt != nil {
		t.Fatalf("a new key's LastUsedAt = %v, want none", found.LastUsedAt)
	}
	// last_used_at only moves forward, and only on the key touched.
	must(t, s.TouchAPIKey(ctx, k.ID, T0.Add(time.Minute)))
	must(t, s.TouchAPIKey(ctx, k.ID, T0))
	must(t, s.TouchAPIKey(ctx, "key_gone", T0))
	keys, err := s.ListAPIKeys(ctx, "a", hookd.Page{})
	must(t, err)
	if got := ids(keys, func(k *hookd.APIKey) string { return k.ID }); !slices.Equal(got, []string{k.ID, k2.ID}) {
		t.Fatalf("ListAPIKeys = %v", got)
	}
	if used := keys[0].LastUsedAt; used == nil || !used.Equal(T0.Add(time.Minute)) {
		t.Fatalf("LastUsedAt after touches at T0+1m and T0 = %v, want %v", used, T0.Add(time.Minute))
	}
	if keys[1].LastUsedAt != nil {
		t.Fatalf("untouched key's LastUsedAt = %v", keys[1].LastUsedAt)
	}
	keys, err = s.ListAPIKeys(ctx, "a", hookd.Page{Limit: 1, After: k.ID})
	must(t, err)
	if len(keys) != 1 || keys[0].ID != k2.ID {
		t.Fatalf("ListAPIKeys after %s = %v", k.ID, keys)
	}
	keys, err = s.ListAPIKeys(ctx, "b", hookd.Page{})
	must(t, err)
	if len(keys) != 0 {
		t.Fatalf("tenant b sees %d keys", len(keys))
	}
	wantCode(t, s.DeleteAPIKey(ctx, "b", k.ID), hookd.ENOTFOUND)
	must(t, s.DeleteAPIKey(ctx, "a", k.ID))
	wantCode(t, s.DeleteAPIKey(ctx, "a", k.ID), hookd.ENOTFOUND)
	_, err = s.FindAPIKey(ctx, hookd.HashToken(token))
	wantCode(t, err, hookd.ENOTFOUND)
}

func testDeleteTenant(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	mustTenant(t, s, "b")
	wa := mustWebhook(t, s, "a", url(1))
	wb := mustWebhook(t, s, "b", url(1))
	must(t, s.CreateAPIKey(ctx, &hookd.APIKey{TenantID: "a", Name: "k", TokenHash: "ha"}))
	ra := mustPublish(t, s, "a", T0, ev("x", ""))
	rb := mustPublish(t, s, "b", T0, ev("x", ""))
	d := wantClaim(t, s, T0, messageOf(t, s, "a", wa.ID, ra[0].EventID).ID, messageOf(t, s, "b", wb.ID, rb[0].EventID).ID)
	var outs []hookd.Outcome
	for _, x := range d {
		outs = append(outs, failure(x, T0, at(-1)))
	}
	complete(t, s, T0, outs...)

	must(t, s.DeleteTenant(ctx, "a"))
	wantCode(t, s.DeleteTenant(ctx, "a"), hookd.ENOTFOUND)
	_, err := s.GetTenant(ctx, "a")
	wantCode(t, err, hookd.ENOTFOUND)
	_, err = s.FindAPIKey(ctx, "ha")
	wantCode(t, err, hookd.ENOTFOUND)
	_, err = s.GetEvent(ctx, "a", ra[0].EventID)
	wantCode(t, err, hookd.ENOTFOUND)
	// Only tenant b's message is still due.
	mb := messageOf(t, s, "b", wb.ID, rb[0].EventID)
	wantClaim(t, s, T0, mb.ID)
	// The tenant can be created again, empty.
	mustTenant(t, s, "a")
	ws, err := s.ListWebhooks(ctx, hookd.WebhookFilter{TenantID: "a"})
	must(t, err)
	if len(ws) != 0 {
		t.Fatalf("re-created tenant has %d webhooks", len(ws))
	}
	ms, err := s.ListMessages(ctx, "a", hookd.MessageFilter{})
	must(t, err)
	if len(ms) != 0 {
		t.Fatalf("re-created tenant has %d messages", len(ms))
	}
}

func testTenantIsolation(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	mustTenant(t, s, "b")
	w := mustWebhook(t, s, "a", url(1))
	// The same URL in another tenant is no conflict.
	mustWebhook(t, s, "b", url(1))
	res := mustPublish(t, s, "a", T0, ev("x", ""))
	m := messageOf(t, s, "a", w.ID, res[0].EventID)

	for name, err := range map[string]error{
		"GetWebhook":    second(s.GetWebhook(ctx, "b", w.ID)),
		"UpdateWebhook": s.UpdateWebhook(ctx, &hookd.Webhook{ID: w.ID, TenantID: "b", URL: url(2), EventTypes: []string{"*"}}),
		"DeleteWebhook": s.DeleteWebhook(ctx, "b", w.ID),
		"SetSuspended":  second(s.SetSuspended(ctx, "b", w.ID, true, T0)),
		"SetSecrets":    s.SetSecrets(ctx, "b", w.ID, nil),
		"GetEvent":      second(s.GetEvent(ctx, "b", res[0].EventID)),
		"GetMessage":    second(s.GetMessage(ctx, "b", m.ID)),
		"ListAttempts":  second(s.ListAttempts(ctx, "b", m.ID, hookd.Page{})),
		"RetryMessage":  second(s.RetryMessage(ctx, "b", m.ID, T0)),
		"AbortMessage":  second(s.AbortMessage(ctx, "b", m.ID, T0)),
		"Resolve":       second(s.ResolveMessage(ctx, "b", m.ID, T0)),
		"Recover":       second(s.RecoverMessages(ctx, "b", w.ID, T0, at(1), T0)),
		"TestMessage":   second(s.CreateTestMessage(ctx, "b", w.ID, ev("x", ""), T0)),
		"Publish":       second(s.Publish(ctx, "nope", []hookd.EventInput{ev("x", "")}, T0)),
	} {
		if hookd.ErrorCode(err) != hookd.ENOTFOUND {
			t.Errorf("%s across tenants: %v, want %s", name, err, hookd.ENOTFOUND)
		}
	}
	ws, err := s.ListWebhooks(ctx, hookd.WebhookFilter{TenantID: "b"})
	must(t, err)
	if len(ws) != 1 || ws[0].ID == w.ID {
		t.Fatalf("tenant b lists %v", ids(ws, webhookID))
	}
	evs, err := s.ListEvents(ctx, "b", hookd.EventFilter{})
	must(t, err)
	msgs, err := s.ListMessages(ctx, "b", hookd.MessageFilter{})
	must(t, err)
	if len(evs) != 0 || len(msgs) != 0 {
		t.Fatalf("tenant b sees %d events, %d messages of a", len(evs), len(msgs))
	}
	// Nothing of a changed.
	wantState(t, s, "a", m.ID, hookd.StateCreated)
	if got, err := s.GetWebhook(ctx, "a", w.ID); err != nil || got.URL != w.URL || got.Suspended {
		t.Fatalf("webhook of a after b's attempts: %+v, %v", got, err)
	}
}

// second returns the error of a two-result call.
func second[T any](_ T, err error) error { return err }
