package client_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/hookdtest"
	"github.com/hookd/hookd/internal/httpapi"
)

// TestEveryOperation walks every /v1 operation through the client against
// a real hookd, and then checks on the server's request counters that each
// operation of the OpenAPI document was answered with a 2xx, so that an
// operation added to the API without its client method fails here.
func TestEveryOperation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hookdtest.Options{})
	root, c := e.root, e.admin

	// Tenants.
	gen, err := root.Tenants.Create(ctx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(gen.ID, "ten_") || gen.CreatedAt.IsZero() {
		t.Fatalf("generated tenant = %+v", gen)
	}
	got, err := root.Tenants.Get(ctx(t), tenant)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tenant || got.Name != "Acme GmbH" {
		t.Fatalf("Get tenant = %+v", got)
	}
	page, err := root.Tenants.List(ctx(t), &client.ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.NextCursor == "" {
		t.Fatalf("first page of 2 tenants by 1 = %+v", page)
	}
	if ids := tenantIDs(collect(t, root.Tenants.All(ctx(t), &client.ListOptions{Limit: 1}))); !slices.Equal(ids, []string{tenant, gen.ID}) && !slices.Equal(ids, []string{gen.ID, tenant}) {
		t.Fatalf("All tenants = %q", ids)
	}
	if err := root.Tenants.Delete(ctx(t), gen.ID); err != nil {
		t.Fatal(err)
	}

	// Keys.
	k, err := c.Keys.Create(ctx(t), tenant, &client.KeyInput{Name: "reader", Scopes: []client.Scope{client.ScopeEventsRead, client.ScopeEventsRead}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.Token, "hk_") || !strings.HasPrefix(k.Token, k.Prefix) || !slices.Equal(k.Scopes, []client.Scope{client.ScopeEventsRead}) {
		t.Fatalf("created key = %+v", k)
	}
	keys, err := c.Keys.List(ctx(t), tenant, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.Data) != 2 || keys.Data[1].ID != k.ID || keys.Data[1].Token != "" || keys.Data[0].LastUsedAt == nil {
		t.Fatalf("keys = %+v", keys)
	}
	if n := len(collect(t, c.Keys.All(ctx(t), tenant, &client.ListOptions{Limit: 1}))); n != 2 {
		t.Fatalf("All keys: %d, want 2", n)
	}
	if err := c.Keys.Delete(ctx(t), tenant, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := mustClient(t, e.srv.URL, k.Token).Events.List(ctx(t), tenant, nil); !client.IsUnauthorized(err) {
		t.Fatalf("deleted key: err = %v, want 401", err)
	}

	// Portal links.
	link, err := c.PortalLinks.Create(ctx(t), tenant, &client.PortalLinkInput{ReadOnly: true, ExpiresIn: client.Duration(time.Hour), Label: "support"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link.URL, e.srv.URL+"/ui/portal/") || !link.ReadOnly || time.Until(link.ExpiresAt) < 59*time.Minute || time.Until(link.ExpiresAt) > time.Hour {
		t.Fatalf("portal link = %+v", link)
	}
	if link, err := c.PortalLinks.Create(ctx(t), tenant, nil); err != nil || link.ReadOnly || time.Until(link.ExpiresAt) > 15*time.Minute {
		t.Fatalf("default portal link = %+v, %v", link, err)
	}
	if _, err := c.PortalLinks.Create(ctx(t), tenant, &client.PortalLinkInput{ExpiresIn: client.Duration(time.Second)}); client.AsError(err).FieldMessage("expires_in") == "" {
		t.Fatalf("a link expiring in 1s: %v, want 400 naming expires_in", err)
	}
	links, err := c.PortalLinks.List(ctx(t), tenant)
	if err != nil {
		t.Fatal(err)
	}
	var listed *client.PortalLink
	for i := range links.Data {
		if links.Data[i].ID == link.ID {
			listed = &links.Data[i]
		}
	}
	if listed == nil || listed.Label != "support" || listed.Status != "unused" || listed.URL != "" || listed.CreatedBy == "" {
		t.Fatalf("listed links = %+v, want %s labelled support, unused, without its URL", links.Data, link.ID)
	}
	if err := c.PortalLinks.Revoke(ctx(t), tenant, link.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.PortalLinks.Revoke(ctx(t), tenant, "pl_nope"); !client.IsNotFound(err) {
		t.Fatalf("revoking an unknown link: %v, want 404", err)
	}
	links, err = c.PortalLinks.List(ctx(t), tenant)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links.Data {
		if l.ID == link.ID && (l.Status != "revoked" || l.RevokedAt == nil) {
			t.Fatalf("revoked link listed as %+v", l)
		}
	}

	// Webhooks: create with every field, read, replace, patch.
	rc := newReceiver(t)
	in := &client.WebhookInput{
		Name: "erp", Description: "the ERP's hook", URL: rc.URL, Enabled: client.Ptr(true),
		EventTypes: []string{"Unit.*", "Lease.Signed"}, Filter: map[string]string{"party_id": "42"},
		Headers: map[string][]string{"X-Tenant": {"acme"}}, Auth: &client.Auth{Type: client.AuthBasic, Username: "u", Password: "p"},
		TimeoutMS: 5000, MaxRetries: client.Ptr(0), RetrySchedule: []client.Duration{client.Duration(time.Second), client.Duration(90 * time.Second)},
		Grouped: true, ContinueOnFailure: true, FailureHandling: &client.FailureHandling{SuspendAfter: 0}, RateLimit: 100,
		MaxInFlight: client.Ptr(4),
	}
	wh, err := c.Webhooks.Create(ctx(t), tenant, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(wh.Secrets) != 1 || !strings.HasPrefix(wh.Secrets[0], "whsec_") {
		t.Fatalf("created webhook's secrets = %q", wh.Secrets)
	}
	if wh.Number != 1 {
		t.Fatalf("the tenant's first webhook has number %d", wh.Number)
	}
	want := client.Webhook{ID: wh.ID, TenantID: tenant, Number: 1, Name: "erp", Description: "the ERP's hook", URL: rc.URL, Enabled: true,
		EventTypes: in.EventTypes, Filter: in.Filter, Headers: in.Headers, Auth: &client.Auth{Type: "basic", Username: "u"},
		TimeoutMS: 5000, MaxRetries: 0, RetrySchedule: in.RetrySchedule, Grouped: true, ContinueOnFailure: true,
		RateLimit: 100, MaxInFlight: client.Ptr(4), CreatedAt: wh.CreatedAt, UpdatedAt: wh.UpdatedAt}
	if g, _ := json.Marshal(stripSecrets(wh)); !bytes.Equal(g, mustJSON(t, want)) {
		t.Fatalf("created webhook\n got %s\nwant %s", g, mustJSON(t, want))
	}
	secret := wh.Secrets[0]
	wh, err = c.Webhooks.Get(ctx(t), tenant, wh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g := mustJSON(t, wh); !bytes.Equal(g, mustJSON(t, want)) {
		t.Fatalf("got webhook\n got %s\nwant %s", g, mustJSON(t, want))
	}
	if got := wh.RetrySchedule[1].String(); got != "1m30s" {
		t.Fatalf("retry_schedule[1] = %q", got)
	}

	wh, err = c.Webhooks.Replace(ctx(t), tenant, wh.ID, &client.WebhookInput{Name: "erp", URL: rc.URL, EventTypes: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	if wh.MaxRetries != 6 || wh.Auth != nil || wh.Grouped || len(wh.Headers) != 0 || wh.RetrySchedule != nil ||
		time.Duration(wh.FailureHandling.SuspendAfter) != 120*time.Hour || wh.RateLimit != 0 || wh.Description != "" {
		t.Fatalf("replaced webhook (every other field at its default) = %+v", wh)
	}

	wh, err = c.Webhooks.Patch(ctx(t), tenant, wh.ID, &client.WebhookPatch{
		Name:             client.Set("erp v2"),
		Auth:             client.Set(client.Auth{Type: client.AuthBearer, Token: "t0ken"}),
		MaxRetries:       client.Set(0),
		RateLimit:        client.Set(5),
		AddEventTypes:    []string{"Unit.*", "Lease.*"},
		RemoveEventTypes: []string{"*"},
		AddHeaders:       map[string][]string{"X-A": {"1"}, "X-B": {"2"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if wh.Name != "erp v2" || wh.Auth == nil || wh.Auth.Type != "bearer" || wh.MaxRetries != 0 || wh.RateLimit != 5 ||
		!slices.Equal(wh.EventTypes, []string{"Unit.*", "Lease.*"}) || len(wh.Headers) != 2 || !wh.Enabled || wh.URL != rc.URL {
		t.Fatalf("patched webhook = %+v", wh)
	}
	wh, err = c.Webhooks.Patch(ctx(t), tenant, wh.ID, &client.WebhookPatch{
		Auth: client.Null[client.Auth](), RateLimit: client.Null[int](), RemoveHeaders: []string{"x-a"}, RemoveEventTypes: []string{"Lease.*"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if wh.Name != "erp v2" || wh.Auth != nil || wh.RateLimit != 0 || wh.MaxRetries != 0 ||
		!slices.Equal(wh.EventTypes, []string{"Unit.*"}) || !slices.Equal(keysOf(wh.Headers), []string{"X-B"}) {
		t.Fatalf("patched webhook (null auth and rate_limit, removals) = %+v", wh)
	}

	// Test call, secrets, rotation, unsuspend.
	att, err := c.Webhooks.Test(ctx(t), tenant, wh.ID, &client.TestInput{Type: "ping", Payload: map[string]int{"x": 1},
		Headers: map[string][]string{"x-b": {"for this call"}, "X-Test": {"1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !att.Success || att.StatusCode != 200 || att.Trigger != "test" || att.WebhookID != wh.ID || rc.count() != 1 {
		t.Fatalf("test attempt = %+v (receiver got %d)", att, rc.count())
	}
	if body := rc.requests()[0].Body; !bytes.Contains(body, []byte(`"type":"ping"`)) || !bytes.Contains(body, []byte(`"data":{"x":1}`)) {
		t.Fatalf("test body = %s", body)
	}
	if h := rc.requests()[0].Header; h.Get("X-B") != "for this call" || h.Get("X-Test") != "1" {
		t.Fatalf("test call's headers: X-B %q, X-Test %q", h.Get("X-B"), h.Get("X-Test"))
	}
	if w, err := c.Webhooks.Get(ctx(t), tenant, wh.ID); err != nil || !slices.Equal(keysOf(w.Headers), []string{"X-B"}) || w.Headers["X-B"][0] != "2" {
		t.Fatalf("the webhook's headers after a test call with others: %+v, %v", w, err)
	}
	secrets, err := c.Webhooks.Secrets(ctx(t), tenant, wh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(secrets, []string{secret}) {
		t.Fatalf("secrets = %q, want %q", secrets, secret)
	}
	rotated, err := c.Webhooks.RotateSecret(ctx(t), tenant, wh.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rotated) != 2 || rotated[1] != secret || !strings.HasPrefix(rotated[0], "whsec_") {
		t.Fatalf("rotated secrets = %q", rotated)
	}
	rotated, err = c.Webhooks.RotateSecret(ctx(t), tenant, wh.ID, "a-plain-secret-of-some-length")
	if err != nil {
		t.Fatal(err)
	}
	if len(rotated) != 2 || rotated[0] != "a-plain-secret-of-some-length" {
		t.Fatalf("rotated to a given secret = %q", rotated)
	}
	if _, err := e.srv.Store.SetSuspended(ctx(t), tenant, wh.ID, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	wh, err = c.Webhooks.Unsuspend(ctx(t), tenant, wh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if wh.Suspended || wh.SuspendedAt != nil {
		t.Fatalf("unsuspended webhook = %+v", wh)
	}

	// Events.
	start := time.Now().Add(-time.Second)
	pub, err := c.Events.Publish(ctx(t), tenant, &client.EventInput{Type: "Unit.Updated", Payload: json.RawMessage(`{"id": 17}`),
		Group: "property-12", Attributes: map[string]string{"party_id": "42"}, IdempotencyKey: "erp-7781"})
	if err != nil {
		t.Fatal(err)
	}
	if pub.Messages != 1 || pub.Duplicate {
		t.Fatalf("publish = %+v", pub)
	}
	dup, err := c.Events.Publish(ctx(t), tenant, &client.EventInput{Type: "Unit.Updated", Payload: json.RawMessage(`{"id":17}`),
		Group: "property-12", Attributes: map[string]string{"party_id": "42"}, IdempotencyKey: "erp-7781"})
	if err != nil {
		t.Fatal(err)
	}
	if !dup.Duplicate || dup.ID != pub.ID {
		t.Fatalf("publish again = %+v, want a duplicate of %s", dup, pub.ID)
	}
	batch, err := c.Events.PublishBatch(ctx(t), tenant, []client.EventInput{
		{Type: "Lease.Signed", Payload: map[string]string{"lease": "9"}}, {Type: "Unit.Created"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != 2 || batch[0].Messages != 0 || batch[1].Messages != 1 {
		t.Fatalf("batch = %+v", batch)
	}
	ev, err := c.Events.Get(ctx(t), tenant, pub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != "Unit.Updated" || string(ev.Payload) != `{"id":17}` || ev.Group != "property-12" || ev.IdempotencyKey != "erp-7781" || ev.Attributes["party_id"] != "42" {
		t.Fatalf("event = %+v", ev)
	}
	evs := collect(t, c.Events.All(ctx(t), tenant, &client.EventListOptions{ListOptions: client.ListOptions{Limit: 1}}))
	// The test call's event comes first, then hookd's operational events
	// of the suspension and unsuspension.
	if len(evs) != 6 || evs[0].Type != "ping" || evs[1].Type != "hookd.webhook.suspended" ||
		evs[2].Type != "hookd.webhook.unsuspended" || evs[3].ID != pub.ID || evs[5].ID != batch[1].ID {
		t.Fatalf("All events = %+v", evs)
	}
	if p, err := c.Events.List(ctx(t), tenant, &client.EventListOptions{Type: "Lease.Signed", Since: start, Until: time.Now().Add(time.Minute)}); err != nil || len(p.Data) != 1 || p.Data[0].ID != batch[0].ID {
		t.Fatalf("List events of a type in a window = %+v, %v", p, err)
	}
	if p, err := c.Events.List(ctx(t), tenant, &client.EventListOptions{Until: start}); err != nil || len(p.Data) > 1 || len(p.Data) == 1 && p.Data[0].Type != "ping" {
		t.Fatalf("List events before the first publish (the test call's at most) = %+v, %v", p, err)
	}

	// Messages: delivered, then failed ones resolved, aborted, retried and
	// recovered.
	ms, err := c.Messages.List(ctx(t), tenant, &client.MessageListOptions{EventID: pub.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms.Data) != 1 || ms.Data[0].WebhookID != wh.ID || ms.Data[0].Group != "property-12" {
		t.Fatalf("messages of the event = %+v", ms)
	}
	m := waitState(t, c, ms.Data[0].ID, client.StateSuccessful)
	if m.AttemptCount != 1 || m.LastStatusCode != 200 || m.LastError != "" {
		t.Fatalf("delivered message = %+v", m)
	}
	atts := collect(t, c.Messages.AllAttempts(ctx(t), tenant, m.ID, nil))
	if len(atts) != 1 || !atts[0].Success || atts[0].Trigger != "scheduled" || atts[0].Number != 1 {
		t.Fatalf("attempts = %+v", atts)
	}
	if p, err := c.Messages.Attempts(ctx(t), tenant, m.ID, &client.ListOptions{Limit: 1}); err != nil || len(p.Data) != 1 || p.NextCursor != "" {
		t.Fatalf("Attempts = %+v, %v", p, err)
	}
	if p, err := c.Messages.List(ctx(t), tenant, &client.MessageListOptions{EventID: batch[1].ID}); err != nil || len(p.Data) != 1 {
		t.Fatalf("messages of %s: %+v, %v", batch[1].ID, p, err)
	} else {
		waitState(t, c, p.Data[0].ID, client.StateSuccessful)
	}
	if _, err := c.Messages.Retry(ctx(t), tenant, m.ID); !client.IsConflict(err) {
		t.Fatalf("retry of a successful message: %v, want 409", err)
	}

	rc.status.Store(http.StatusInternalServerError)
	failed := func(key string) *client.Message {
		t.Helper()
		res, err := c.Events.Publish(ctx(t), tenant, &client.EventInput{Type: "Unit.Deleted", IdempotencyKey: key})
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.Messages.List(ctx(t), tenant, &client.MessageListOptions{EventID: res.ID, WebhookID: wh.ID, EventType: "Unit.Deleted"})
		if err != nil || len(p.Data) != 1 {
			t.Fatalf("messages of %s: %+v, %v", res.ID, p, err)
		}
		m := waitState(t, c, p.Data[0].ID, client.StateFailed)
		if m.LastStatusCode != 500 || m.LastError != "http_status" {
			t.Fatalf("failed message = %+v", m)
		}
		return m
	}
	m1 := failed("del-1")
	if m, err := c.Messages.Resolve(ctx(t), tenant, m1.ID); err != nil || m.State != client.StateResolved {
		t.Fatalf("resolve: %+v, %v", m, err)
	}
	if _, err := c.Messages.Resolve(ctx(t), tenant, m1.ID); !client.IsConflict(err) {
		t.Fatalf("resolve again: %v, want 409", err)
	}
	m2 := failed("del-2")
	if m, err := c.Messages.Abort(ctx(t), tenant, m2.ID); err != nil || m.State != client.StateAborted {
		t.Fatalf("abort: %+v, %v", m, err)
	}
	m3 := failed("del-3")
	rc.status.Store(http.StatusOK)
	if _, err := c.Messages.Retry(ctx(t), tenant, m3.ID); err != nil {
		t.Fatal(err)
	}
	if m := waitState(t, c, m3.ID, client.StateSuccessful); m.AttemptCount != 2 {
		t.Fatalf("retried message = %+v", m)
	}
	rc.status.Store(http.StatusInternalServerError)
	m4 := failed("del-4")
	rc.status.Store(http.StatusOK)
	n, err := c.Webhooks.Recover(ctx(t), tenant, wh.ID, &client.RecoverInput{Since: start})
	if err != nil || n != 1 {
		t.Fatalf("recover = %d, %v, want 1", n, err)
	}
	waitState(t, c, m4.ID, client.StateSuccessful)
	byState := collect(t, c.Messages.All(ctx(t), tenant, &client.MessageListOptions{
		States: []client.MessageState{client.StateResolved, client.StateAborted}, Since: start, Until: time.Now().Add(time.Minute),
		ListOptions: client.ListOptions{Limit: 1}}))
	if len(byState) != 2 || byState[0].ID != m1.ID || byState[1].ID != m2.ID {
		t.Fatalf("resolved and aborted messages = %+v", byState)
	}

	// Webhook lists and delete.
	if p, err := c.Webhooks.List(ctx(t), tenant, &client.WebhookListOptions{URL: rc.URL, Active: client.Ptr(true)}); err != nil || len(p.Data) != 1 {
		t.Fatalf("List webhooks by url = %+v, %v", p, err)
	}
	if ws := collect(t, c.Webhooks.All(ctx(t), tenant, nil)); len(ws) != 1 || ws[0].ID != wh.ID {
		t.Fatalf("All webhooks = %+v", ws)
	}
	if err := c.Webhooks.Delete(ctx(t), tenant, wh.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Webhooks.Get(ctx(t), tenant, wh.ID); !client.IsNotFound(err) {
		t.Fatalf("get a deleted webhook: %v, want 404", err)
	}

	// Event types, in a tenant of their own: a catalogue makes its
	// tenant's types strict.
	const cat = "catalog"
	if _, err := root.Tenants.Create(ctx(t), &client.TenantInput{ID: cat}); err != nil {
		t.Fatal(err)
	}
	schema := json.RawMessage(`{"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}`)
	et, err := root.EventTypes.Create(ctx(t), cat, &client.EventTypeInput{Name: "Unit.Updated", Description: "a unit changed", Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if et.Name != "Unit.Updated" || et.TenantID != cat || et.Description != "a unit changed" || !jsonEqual(t, et.Schema, schema) || et.Archived {
		t.Fatalf("created event type = %+v", et)
	}
	if _, err := root.EventTypes.Create(ctx(t), cat, &client.EventTypeInput{Name: "Unit.Updated"}); !client.IsConflict(err) || client.AsError(err).ExistingID != "Unit.Updated" {
		t.Fatalf("declared twice: %v, want 409 with existing_id", err)
	}
	if _, err := root.Events.Publish(ctx(t), cat, &client.EventInput{Type: "Unit.Updated", Payload: map[string]string{"id": "x"}}); client.AsError(err).FieldMessage("payload.id") == "" {
		t.Fatalf("a payload against its schema: %v, want 400 naming payload.id", err)
	}
	if _, err := root.Events.Publish(ctx(t), cat, &client.EventInput{Type: "Unit.Deleted"}); client.AsError(err).FieldMessage("type") == "" {
		t.Fatalf("an undeclared type: %v, want 400 naming type", err)
	}
	if _, err := root.Events.Publish(ctx(t), cat, &client.EventInput{Type: "Unit.Updated", Payload: map[string]int{"id": 1}}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		et, created, err := root.EventTypes.Put(ctx(t), cat, "Unit.Deleted", &client.EventTypeInput{Description: "gone"})
		if err != nil || created != want || et.Name != "Unit.Deleted" {
			t.Fatalf("PUT %d: %+v, created %v, %v; want created %v", i+1, et, created, err, want)
		}
	}
	if et, err := root.EventTypes.Get(ctx(t), cat, "Unit.Deleted"); err != nil || et.Description != "gone" {
		t.Fatalf("Get event type = %+v, %v", et, err)
	}
	et, err = root.EventTypes.Patch(ctx(t), cat, "Unit.Updated", &client.EventTypePatch{Schema: client.Null[json.RawMessage](), Description: client.Set("changed")})
	if err != nil || et.Description != "changed" || (len(et.Schema) != 0 && string(et.Schema) != "null") {
		t.Fatalf("patched event type = %+v, %v", et, err)
	}
	if err := root.EventTypes.Delete(ctx(t), cat, "Unit.Deleted"); err != nil {
		t.Fatal(err)
	}
	if et, err := root.EventTypes.Get(ctx(t), cat, "Unit.Deleted"); err != nil || !et.Archived {
		t.Fatalf("deleted (archived) event type = %+v, %v", et, err)
	}
	if p, err := root.EventTypes.List(ctx(t), cat, nil); err != nil || len(p.Data) != 1 || p.Data[0].Name != "Unit.Updated" {
		t.Fatalf("List event types without the archived = %+v, %v", p, err)
	}
	if ets := collect(t, root.EventTypes.All(ctx(t), cat, &client.EventTypeListOptions{IncludeArchived: true, ListOptions: client.ListOptions{Limit: 1}})); len(ets) != 2 || ets[0].Name != "Unit.Deleted" || ets[1].Name != "Unit.Updated" {
		t.Fatalf("All event types with the archived = %+v", ets)
	}
	for _, name := range []string{"Unit.Deleted", "Unit.Updated"} {
		if err := root.EventTypes.Expunge(ctx(t), cat, name); err != nil {
			t.Fatal(err)
		}
	}
	// The event stream gets what is published once it is open.
	st := openStream(t, root, cat, client.StreamOptions{EventTypes: []string{"Anything.*"}})
	free, err := root.Events.Publish(ctx(t), cat, &client.EventInput{Type: "Anything.Goes"})
	if err != nil {
		t.Fatalf("types are free again once every declared one is expunged: %v", err)
	}
	if d := st.next(t); d.EventID != free.ID || d.Type != "Anything.Goes" {
		t.Fatalf("streamed %+v, want %s", d, free.ID)
	}
	st.cancel()
	// The stream's request is counted when it ends.
	waitFor(t, "the stream's end", func() bool {
		var buf bytes.Buffer
		e.srv.Metrics.WriteText(&buf)
		return strings.Contains(buf.String(), `route="/v1/tenants/{tenant}/stream",code="200"`)
	})
	if w, err := c.Whoami(ctx(t)); err != nil || w.Key == nil || w.Key.TenantID != tenant {
		t.Fatalf("whoami = %+v, %v", w, err)
	}

	// Every /v1 operation of the OpenAPI document was answered with a 2xx.
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(httpapi.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	e.srv.Metrics.WriteText(&buf)
	done := map[string]bool{}
	for _, m := range regexp.MustCompile(`hookd_http_requests_total\{method="(\w+)",route="([^"]+)",code="2\d\d"\}`).FindAllStringSubmatch(buf.String(), -1) {
		done[m[1]+" "+m[2]] = true
	}
	for path, ops := range doc.Paths {
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		for method := range ops {
			op := strings.ToUpper(method) + " " + path
			if !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, strings.ToUpper(method)) {
				continue
			}
			if !done[op] {
				t.Errorf("%s: no successful call through the client", op)
			}
		}
	}
}

func tenantIDs(ts []client.Tenant) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func stripSecrets(w *client.Webhook) client.Webhook {
	c := *w
	c.Secrets = nil
	return c
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
