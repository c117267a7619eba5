package httpapi_test

import (
	"testing"
)

// Problem documents speak the language Accept-Language prefers: German
// for de, de-* and en-DE, English otherwise, with Content-Language and
// Vary saying so; field names, types and statuses stay as they are.
func TestProblemsInGerman(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	base := "/v1/tenants/acme/webhooks"
	bad := merge(hook("x"), "url", "http://example.com/x", "timeout_ms", 5)
	for _, tt := range []struct {
		accept, lang, title, detail string
		messages                    map[string]string
	}{
		{"", "en", "Validation failed", "2 fields are invalid",
			map[string]string{"url": "must use https (http is allowed with --allow-http or --dev)", "timeout_ms": "must be between 1000 and 30000"}},
		{"de", "de", "Validierung fehlgeschlagen", "2 Felder sind ungültig",
			map[string]string{"url": "muss https verwenden (http ist mit --allow-http oder --dev erlaubt)", "timeout_ms": "muss zwischen 1000 und 30000 liegen"}},
		{"de-DE,de;q=0.9,en;q=0.8", "de", "Validierung fehlgeschlagen", "2 Felder sind ungültig", nil},
		{"en-DE", "de", "Validierung fehlgeschlagen", "2 Felder sind ungültig", nil},
		{"en-US,en;q=0.9,de;q=0.8", "en", "Validation failed", "2 fields are invalid", nil},
		{"fr", "en", "Validation failed", "2 fields are invalid", nil},
	} {
		r := e.do("POST", base, rootToken, bad, "Accept-Language", tt.accept)
		r.wantFields(t, 400, "url", "timeout_ms")
		if got := r.Header.Get("Content-Language"); got != tt.lang {
			t.Errorf("Accept-Language %q: Content-Language = %q, want %q", tt.accept, got, tt.lang)
		}
		if got := r.Header.Get("Vary"); got != "Accept-Language" {
			t.Errorf("Accept-Language %q: Vary = %q", tt.accept, got)
		}
		if r.str("title") != tt.title || r.str("detail") != tt.detail || r.str("type") != "https://hookd.dev/errors/validation" {
			t.Errorf("Accept-Language %q: %s", tt.accept, r.Body)
		}
		for _, fe := range r.JSON["errors"].([]any) {
			m := fe.(map[string]any)
			if want, ok := tt.messages[m["field"].(string)]; ok && m["message"] != want {
				t.Errorf("Accept-Language %q: %s: %q, want %q", tt.accept, m["field"], m["message"], want)
			}
		}
	}

	// Every kind of answer: decoding, auth, not found, conflicts, 405, 415.
	de := func(method, path, token string, body any, status int, title, detail string, headers ...string) *resp {
		t.Helper()
		r := e.do(method, path, token, body, append([]string{"Accept-Language", "de-AT"}, headers...)...).want(t, status)
		if r.str("title") != title || r.str("detail") != detail || r.Header.Get("Content-Language") != "de" {
			t.Errorf("%s %s: title %q, detail %q, Content-Language %q; want %q, %q, de",
				method, path, r.str("title"), r.str("detail"), r.Header.Get("Content-Language"), title, detail)
		}
		return r
	}
	r := de("POST", base, rootToken, map[string]any{"url": 5, "name": "n", "event_types": []string{"a"}, "x": 1},
		400, "Validierung fehlgeschlagen", "2 Felder sind ungültig")
	for _, fe := range r.JSON["errors"].([]any) {
		m := fe.(map[string]any)
		if want := map[string]string{"url": "muss eine Zeichenkette sein", "x": "unbekanntes Feld"}[m["field"].(string)]; m["message"] != want {
			t.Errorf("%s: %q, want %q", m["field"], m["message"], want)
		}
	}
	de("POST", base, rootToken, "[1]", 400, "Validierung fehlgeschlagen", "der Body muss ein JSON-Objekt sein")
	de("GET", base, "", nil, 401, "Nicht autorisiert", "Bearer-Token fehlt")
	key := e.mustKey("acme", "events:read")
	de("GET", base, key, nil, 403, "Verboten", "dem Token fehlt der Scope webhooks:list")
	de("GET", base+"/wh_nope", rootToken, nil, 404, "Nicht gefunden", "Webhook nicht gefunden")
	de("GET", "/v1/tenants/nope/webhooks", rootToken, nil, 404, "Nicht gefunden", "Mandant nicht gefunden")
	id := e.mustWebhook("acme", hook("dup"))
	c := de("POST", base, rootToken, hook("dup"), 409, "Konflikt", "ein Webhook mit dieser URL und diesem Filter existiert bereits")
	if c.str("existing_id") != id {
		t.Errorf("existing_id = %q, want %q", c.str("existing_id"), id)
	}
	de("DELETE", base, rootToken, nil, 405, "Methode nicht erlaubt", "Methode DELETE ist hier nicht erlaubt")
	de("POST", base, rootToken, "<x/>", 415, "Nicht unterstützter Medientyp", "der Body muss application/json sein",
		"Content-Type", "application/xml")
}
