package property_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/dialect"
	"github.com/hookd/hookd/internal/dialect/dialecttest"
	"github.com/hookd/hookd/internal/dialect/property"
)

const reg = "/api/webhook-registrations"

func dialects() []func(dialect.Env) dialect.API {
	return []func(dialect.Env) dialect.API{func(e dialect.Env) dialect.API { return property.New(e) }}
}

func start(t *testing.T, opts dialecttest.Options) (*dialecttest.Server, string) {
	t.Helper()
	opts.Dialects = dialects()
	s := dialecttest.Start(t, opts)
	s.Tenant("acme")
	return s, s.Key("acme", hookd.ScopeAdmin)
}

// body is a valid registration, the seed's fields all given.
func body(url string, party int) map[string]any {
	return map[string]any{
		"partyId":   party,
		"targetUrl": url,
		"enabledEvents": []map[string]any{
			{"type": 2, "entityName": "Unit"},
			{"type": 1, "entityName": "Process"},
		},
		"isGrouped":           true,
		"continueOnFailure":   false,
		"targetAuthorization": map[string]any{"authorizationType": 1, "username": "erp", "password": "s3cret-pass"},
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// wantProblem fails unless r is an ASP.NET problem document of status
// with title.
func wantProblem(t *testing.T, r *dialecttest.Resp, status int, title string) {
	t.Helper()
	r.Want(t, status)
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json: %s", ct, r.Body)
	}
	if r.Num("status") != int64(status) || r.Str("title") != title || !strings.HasPrefix(r.Str("type"), "https://") {
		t.Fatalf("problem %s, want status %d and title %q", r.Body, status, title)
	}
}

// wantErrors fails unless r is a validation problem naming exactly the
// fields of want, each with its messages.
func wantErrors(t *testing.T, r *dialecttest.Resp, want map[string][]string) {
	t.Helper()
	wantProblem(t, r, 400, "One or more validation errors occurred.")
	got := map[string][]string{}
	b, _ := json.Marshal(r.Get("errors"))
	json.Unmarshal(b, &got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("errors\n got %v\nwant %v", got, want)
	}
}

// The seed's create (000): every field, the WebhookRegistrationRead
// answer, GET and DELETE; the registration is an ordinary webhook in /v1.
func TestCreateGetDelete(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	r := s.Do("POST", reg, key, body("https://erp.example.com/hooks", 42)).Want(t, 201)
	created := r.Str("createdAt")
	r.WantJSON(t, 201, `{"id": 1, "partyId": 42, "targetUrl": "https://erp.example.com/hooks",
		"enabledEvents": [{"id": 1, "type": 2, "entityName": "Unit"}, {"id": 2, "type": 1, "entityName": "Process"}],
		"isGrouped": true, "continueOnFailure": false,
		"targetAuthorization": {"authorizationType": 1, "username": "erp"}, "createdAt": "`+created+`"}`)
	if strings.Contains(string(r.Body), "s3cret-pass") {
		t.Fatal("the answer shows the password")
	}
	if loc := r.Header.Get("Location"); loc != reg+"/1" {
		t.Fatalf("Location %q", loc)
	}
	s.Do("GET", reg+"/1", key, nil).WantJSON(t, 200, r.JSON)

	// The native view: the filter, the event types, grouped, basic auth.
	n := s.WebhookByNumber("acme", 1)
	if fmt.Sprint(n["filter"]) != "map[party_id:42]" || fmt.Sprint(n["event_types"]) != "[Unit.Updated Process.Created]" ||
		n["grouped"] != true || n["continue_on_failure"] != false || n["name"] != "erp.example.com Unit.Updated" ||
		fmt.Sprint(n["auth"]) != "map[type:basic username:erp]" || n["max_retries"] != float64(6) {
		t.Fatalf("the native webhook %v", n)
	}

	// authorizationType may be left out; a second registration is number 2.
	b := body("https://erp.example.com/other", 7)
	b["targetAuthorization"] = map[string]any{"username": "u", "password": "p"}
	if r := s.Do("POST", reg, key, b).Want(t, 201); r.Num("id") != 2 || r.Num("targetAuthorization.authorizationType") != 1 {
		t.Fatalf("second registration %s", r.Body)
	}

	s.Do("DELETE", reg+"/1", key, nil).Want(t, 204)
	wantProblem(t, s.Do("GET", reg+"/1", key, nil), 404, "Not found")
	wantProblem(t, s.Do("DELETE", reg+"/1", key, nil), 404, "Not found")
	s.Do("GET", "/v1/tenants/acme/webhooks?limit=10", dialecttest.RootToken, nil).Want(t, 200)
}

// One URL, one registration per party; the same URL and party twice is a
// 409 naming the registration that exists.
func TestOneRegistrationPerParty(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	s.Do("POST", reg, key, body("https://erp.example.com/hooks", 42)).Want(t, 201)
	s.Do("POST", reg, key, body("https://erp.example.com/hooks", 43)).Want(t, 201)
	r := s.Do("POST", reg, key, body("https://ERP.example.com:443/hooks", 42))
	wantProblem(t, r, 409, "Conflict")
	if r.Num("existingId") != 1 || r.Str("detail") == "" {
		t.Fatalf("409 %s, want existingId 1 and a detail", r.Body)
	}
}

// Every invalid field at once, by the seed's field paths, in English and,
// by Accept-Language (de, de-DE, en-DE as the seed names it), German.
func TestValidation(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true, HTTPSOnly: true})
	bad := map[string]any{
		"partyId":   0,
		"targetUrl": "http://erp.example.com/hooks",
		"enabledEvents": []any{
			map[string]any{"type": 7, "entityName": "Unit"},
			map[string]any{"type": "Updated", "entityName": ""},
			map[string]any{"entityName": "Unit Name"},
			map[string]any{"type": 2, "entityName": "Unit Name"},
			"Unit",
		},
		"isGrouped":           "yes",
		"targetAuthorization": map[string]any{"authorizationType": 2, "username": "a:b"},
		"secret":              "x",
	}
	wantErrors(t, s.Do("POST", reg, key, bad), map[string][]string{
		"partyId":   {"must be between 1 and 2147483647"},
		"targetUrl": {"must use https (http is allowed with --allow-http or --dev)"},
		"enabledEvents[0].type": {"must be one of 1 (Created), 2 (Updated), 3 (Deleted), 4 (ReplaceRelation), " +
			"5 (AddToRelation) or 6 (RemoveFromRelation)"},
		"enabledEvents[1].type":                 {"must be an integer"},
		"enabledEvents[1].entityName":           {"must not be empty"},
		"enabledEvents[2].type":                 {"is required"},
		"enabledEvents[3].entityName":           {"may contain only letters, digits and the characters _ . : -"},
		"enabledEvents[4]":                      {"must be an object"},
		"isGrouped":                             {"must be a boolean"},
		"continueOnFailure":                     {"is required"},
		"targetAuthorization.authorizationType": {"must be 1 (Basic), the only authorization type"},
		"targetAuthorization.username":          {`must not contain ":"`},
		"targetAuthorization.password":          {"is required"},
		"secret":                                {"unknown field"},
	})

	// Each required field, alone; lengths of the seed.
	ok := body("https://erp.example.com/hooks", 42)
	for _, f := range []string{"partyId", "targetUrl", "enabledEvents", "isGrouped", "continueOnFailure", "targetAuthorization"} {
		wantErrors(t, s.Do("POST", reg, key, with(ok, f, nil)), map[string][]string{f: {"is required"}})
	}
	wantErrors(t, s.Do("POST", reg, key, with(ok, "enabledEvents", []any{})),
		map[string][]string{"enabledEvents": {"must have at least one event type"}})
	wantErrors(t, s.Do("POST", reg, key, with(ok, "targetUrl", "")), map[string][]string{"targetUrl": {"is required"}})
	wantErrors(t, s.Do("POST", reg, key, with(ok, "targetUrl", "https://example.com/"+strings.Repeat("a", 2030))),
		map[string][]string{"targetUrl": {"must be at most 2048 characters"}})
	wantErrors(t, s.Do("POST", reg, key, with(ok, "partyId", 2147483648)),
		map[string][]string{"partyId": {"must be between 1 and 2147483647"}})
	long := strings.Repeat("E", 256)
	wantErrors(t, s.Do("POST", reg, key, with(ok, "enabledEvents", []any{map[string]any{"type": 1, "entityName": long}})),
		map[string][]string{"enabledEvents[0].entityName": {"must be at most 255 characters"}})
	// 250 characters fit the seed's 255 but not with ".RemoveFromRelation"
	// in a native event type (255).
	wantErrors(t, s.Do("POST", reg, key, with(ok, "enabledEvents", []any{map[string]any{"type": 6, "entityName": long[:250]}})),
		map[string][]string{"enabledEvents[0].entityName": {"must be at most 236 characters for the type RemoveFromRelation"}})
	wantErrors(t, s.Do("POST", reg, key, with(ok, "targetAuthorization", map[string]any{"username": "", "password": ""})),
		map[string][]string{"targetAuthorization.username": {"is required for basic auth"},
			"targetAuthorization.password": {"is required for basic auth"}})
	wantErrors(t, s.Do("POST", reg, key, with(ok, "targetUrl", "https://erp.example.com/\u0000")),
		map[string][]string{"targetUrl": {"must not contain NUL (U+0000)"}})

	// The whole body: "$".
	wantErrors(t, s.Do("POST", reg, key, `{"partyId": `), map[string][]string{
		"$": {"malformed JSON at byte 11: unexpected end of JSON input"}})
	wantErrors(t, s.Do("POST", reg, key, `[1]`), map[string][]string{"$": {"the body must be a JSON object"}})
	wantErrors(t, s.Do("POST", reg, key, ``), map[string][]string{"$": {"a JSON object body is required"}})
	wantErrors(t, s.Do("POST", reg, key, "{\"targetUrl\": \"\xff\"}"), map[string][]string{"$": {"the body must be valid UTF-8"}})

	// German.
	for _, lang := range []string{"de", "de-DE", "en-DE", "fr, de;q=0.5"} {
		r := s.Do("POST", reg, key, with(ok, "partyId", 0, "isGrouped", nil), "Accept-Language", lang)
		r.Want(t, 400)
		if r.Str("title") != "Ein oder mehrere Validierungsfehler sind aufgetreten." ||
			fmt.Sprint(r.Get("errors.partyId")) != "[muss zwischen 1 und 2147483647 liegen]" ||
			fmt.Sprint(r.Get("errors.isGrouped")) != "[ist erforderlich]" || r.Header.Get("Content-Language") != "de" {
			t.Fatalf("Accept-Language %q: %s", lang, r.Body)
		}
	}
	r := s.Do("POST", reg, key, with(ok, "enabledEvents", []any{map[string]any{"type": 9, "entityName": "Unit"}}), "Accept-Language", "de")
	if got := fmt.Sprint(r.Get("errors")); !strings.Contains(got, "muss einer der Werte 1 (Created)") {
		t.Fatalf("German type message %s", r.Body)
	}
	r = s.Do("POST", reg, key, with(ok, "targetUrl", "http://erp.example.com/"), "Accept-Language", "en-US")
	if fmt.Sprint(r.Get("errors.targetUrl")) != "[must use https (http is allowed with --allow-http or --dev)]" {
		t.Fatalf("English for en-US: %s", r.Body)
	}
	// Nothing was stored.
	if r := s.Do("GET", "/v1/tenants/acme/webhooks", dialecttest.RootToken, nil).Want(t, 200); r.Len("data") != 0 {
		t.Fatalf("refused bodies stored webhooks: %s", r.Body)
	}
}

// 401, 403, 404, 405, 413, 415: problem documents, never a native one.
func TestErrorAnswers(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	r := s.Do("POST", reg, "", body("https://erp.example.com/hooks", 42))
	wantProblem(t, r, 401, "Unauthorized")
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
	wantProblem(t, s.Do("GET", reg+"/1", "hk_not-a-key", nil), 401, "Unauthorized")
	wantProblem(t, s.Do("GET", reg+"/1", "", nil, "Accept-Language", "de-DE"), 401, "Nicht autorisiert")

	reader := s.Key("acme", hookd.ScopeWebhooksRead)
	r = s.Do("POST", reg, reader, body("https://erp.example.com/hooks", 42))
	wantProblem(t, r, 403, "Forbidden")
	if r.Str("detail") != "the token lacks the scope webhooks:write" {
		t.Fatalf("403 detail %q", r.Str("detail"))
	}
	wantProblem(t, s.Do("POST", reg+"/search", reader, nil), 403, "Forbidden")
	wantProblem(t, s.Do("GET", reg+"/1/webhooks", reader, nil), 403, "Forbidden")
	wantProblem(t, s.Do("POST", "/api/webhooks/msg_x/retry", reader, nil), 403, "Forbidden")
	r = s.Do("GET", reg+"/1", dialecttest.RootToken, nil)
	wantProblem(t, r, 403, "Forbidden")
	if !strings.Contains(r.Str("detail"), "API key") {
		t.Fatalf("root's 403 %s", r.Body)
	}

	wantProblem(t, s.Do("GET", reg+"/99", key, nil), 404, "Not found")
	wantProblem(t, s.Do("GET", reg+"/abc", key, nil), 404, "Not found")
	wantProblem(t, s.Do("GET", reg+"/1/nothing", key, nil), 404, "Not found")
	wantProblem(t, s.Do("GET", "/api/webhooks", key, nil), 404, "Not found")
	wantProblem(t, s.Do("POST", "/api/webhooks/msg_nope/abort", key, nil), 404, "Not found")
	// A webhook the seed cannot show (no party) is no registration.
	s.Do("POST", "/v1/tenants/acme/webhooks", key, map[string]any{"name": "native", "url": "https://x.example.com/",
		"event_types": []string{"Unit.Updated"}}).Want(t, 201)
	wantProblem(t, s.Do("GET", reg+"/1", key, nil), 404, "Not found")
	// Another tenant's registration is not found.
	s.Tenant("other")
	okey := s.Key("other", hookd.ScopeAdmin)
	s.Do("POST", reg, okey, body("https://erp.example.com/hooks", 42)).Want(t, 201)
	wantProblem(t, s.Do("GET", reg+"/2", key, nil), 404, "Not found")

	r = s.Do("PUT", reg+"/1", key, body("https://erp.example.com/hooks", 42))
	wantProblem(t, r, 405, "Method not allowed")
	if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "DELETE") {
		t.Fatalf("Allow %q", allow)
	}
	big := `{"targetUrl": "` + strings.Repeat("a", dialect.MaxBody) + `"}`
	wantProblem(t, s.Do("POST", reg, key, big), 413, "Payload too large")
	r = s.Do("POST", reg, key, "partyId=42", "Content-Type", "application/x-www-form-urlencoded")
	wantProblem(t, r, 415, "Unsupported media type")
}

// api-version (or X-Api-Version): 1, 1.0, 2, 2.0 or absent; anything else
// is ASP.NET API Versioning's 400.
func TestAPIVersion(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	for _, v := range []string{"1", "1.0", "2", "2.0"} {
		r := s.Do("POST", reg+"/search", key, nil, "api-version", v).Want(t, 200)
		if r.Header.Get("api-supported-versions") != "1.0, 2.0" {
			t.Fatalf("api-supported-versions %q", r.Header.Get("api-supported-versions"))
		}
		s.Do("POST", reg+"/search", key, nil, "X-Api-Version", v).Want(t, 200)
	}
	for _, h := range []string{"api-version", "X-Api-Version"} {
		for _, v := range []string{"3", "2.1", "v2", ""} {
			r := s.Do("POST", reg+"/search", key, nil, h, v)
			if v == "" {
				r.Want(t, 200) // an empty header is no header to Go's client
				continue
			}
			wantProblem(t, r, 400, "Unsupported API version")
			if r.Str("type") != "https://docs.api-versioning.org/problems#unsupported" || !strings.Contains(r.Str("detail"), v) {
				t.Fatalf("%s: %s: %s", h, v, r.Body)
			}
		}
	}
	r := s.Do("POST", reg+"/search", key, nil, "api-version", "3", "Accept-Language", "de")
	wantProblem(t, r, 400, "Nicht unterstützte API-Version")
}

// search: by normalised targetUrl and partyId, in pages, with the total.
func TestSearch(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	for p := 1; p <= 5; p++ {
		s.Do("POST", reg, key, body("https://erp.example.com/hooks", p)).Want(t, 201)
	}
	s.Do("POST", reg, key, body("https://crm.example.com/hooks", 1)).Want(t, 201)
	s.Do("POST", "/v1/tenants/acme/webhooks", key, map[string]any{"name": "native", "url": "https://erp.example.com/hooks",
		"event_types": []string{"*"}}).Want(t, 201) // no party: not a registration

	r := s.Do("POST", reg+"/search", key, map[string]any{"targetUrl": "HTTPS://ERP.example.com:443/hooks", "pageSize": 2, "pageNumber": 2}).Want(t, 200)
	if r.Num("totalCount") != 5 || r.Num("pageNumber") != 2 || r.Num("pageSize") != 2 || r.Len("items") != 2 ||
		r.Num("items.0.partyId") != 3 || r.Num("items.1.partyId") != 4 {
		t.Fatalf("page 2 of erp: %s", r.Body)
	}
	r = s.Do("POST", reg+"/search", key, map[string]any{"partyId": 1}).Want(t, 200)
	if r.Num("totalCount") != 2 || r.Num("pageSize") != 20 || r.Num("pageNumber") != 1 {
		t.Fatalf("party 1: %s", r.Body)
	}
	r = s.Do("POST", reg+"/search", key, nil).Want(t, 200)
	if r.Num("totalCount") != 6 || r.Len("items") != 6 {
		t.Fatalf("all: %s", r.Body)
	}
	if r := s.Do("POST", reg+"/search", key, map[string]any{"pageNumber": 9}).Want(t, 200); r.Len("items") != 0 || r.Num("totalCount") != 6 {
		t.Fatalf("past the end: %s", r.Body)
	}
	wantErrors(t, s.Do("POST", reg+"/search", key, map[string]any{"pageNumber": 0, "pageSize": 101, "partyId": "1", "x": 1}),
		map[string][]string{"pageNumber": {"must be between 1 and 2147483647"}, "pageSize": {"must be between 1 and 100"},
			"partyId": {"must be an integer"}, "x": {"unknown field"}})
}

// The seed's whole round: register through the dialect, publish the
// platform's event through /v1 (entity and change type as the event type,
// the party as an attribute, the group), receive the signed delivery, and
// see the message through the dialect, state 3 with its attempt.
func TestRound(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{})
	rc := s.Receiver()
	r := s.Do("POST", reg, key, body(rc.URL+"/hooks", 42)).Want(t, 201)
	id := r.Num("id")
	native := s.WebhookByNumber("acme", id)
	secret := s.Secrets("acme", native["id"].(string))[0]

	publish := func(ev map[string]any) {
		t.Helper()
		s.Do("POST", "/v1/tenants/acme/events", key, ev).Want(t, 202)
	}
	// The platform publishes what happened; only party 42's Unit.Updated
	// and Process.Created reach this registration.
	publish(map[string]any{"type": "Unit.Updated", "payload": map[string]any{"id": 17}, "attributes": map[string]any{"party_id": "42"}, "group": "property-12"})
	publish(map[string]any{"type": "Unit.Updated", "payload": map[string]any{"id": 18}, "attributes": map[string]any{"party_id": "43"}, "group": "property-12"})
	publish(map[string]any{"type": "Unit.Deleted", "payload": map[string]any{"id": 19}, "attributes": map[string]any{"party_id": "42"}, "group": "property-12"})
	reqs := rc.Wait(t, 1)
	dialecttest.Verify(t, secret, reqs[0])
	var got struct {
		Type  string          `json:"type"`
		Group string          `json:"group"`
		Data  json.RawMessage `json:"data"`
	}
	json.Unmarshal(reqs[0].Body, &got)
	if got.Type != "Unit.Updated" || got.Group != "property-12" || string(got.Data) != `{"id":17}` || reqs[0].Path != "/hooks" {
		t.Fatalf("delivery %s to %s", reqs[0].Body, reqs[0].Path)
	}
	if u, p, ok := (&http.Request{Header: reqs[0].Header}).BasicAuth(); !ok || u != "erp" || p != "s3cret-pass" {
		t.Fatalf("targetAuthorization not sent: %q %q %v", u, p, ok)
	}

	var m *dialecttest.Resp
	dialecttest.Eventually(t, "the message to be Successful", func() bool {
		m = s.Do("GET", fmt.Sprintf("%s/%d/webhooks", reg, id), key, nil).Want(t, 200)
		return m.Num("items.0.state") == 3
	})
	if m.Num("totalCount") != 1 || m.Str("items.0.stateName") != "Successful" || m.Str("items.0.entityName") != "Unit" ||
		m.Num("items.0.type") != 2 || m.Len("items.0.attempts") != 1 || m.Num("items.0.attempts.0.number") != 1 ||
		m.Num("items.0.attempts.0.statusCode") != 204 || m.Get("items.0.attempts.0.error") != nil ||
		m.Str("items.0.id") != reqs[0].Header.Get("webhook-id") {
		t.Fatalf("messages %s", m.Body)
	}
	path := fmt.Sprintf("%s/%d/webhooks", reg, id)
	if r := s.Do("GET", path+"?state=3&state=4&pageNumber=1&pageSize=5", key, nil).Want(t, 200); r.Num("totalCount") != 1 {
		t.Fatalf("state 3 or 4: %s", r.Body)
	}
	if r := s.Do("GET", path+"?state=4", key, nil).Want(t, 200); r.Num("totalCount") != 0 || r.Len("items") != 0 {
		t.Fatalf("state 4: %s", r.Body)
	}
	wantErrors(t, s.Do("GET", path+"?state=8&pageSize=0&offset=2", key, nil), map[string][]string{
		"state":    {"must be one of 1 (Created), 2 (Retrying), 3 (Successful), 4 (Failed), 5 (Aborted), 6 (Pending) or 7 (Resolved)"},
		"pageSize": {"must be between 1 and 100"},
		"offset":   {"is not a query parameter of this list, which takes state, pageNumber, pageSize"},
	})
	if n := len(rc.Requests()); n != 1 {
		t.Fatalf("the receiver got %d requests, want 1 (other parties' and other events' are not this registration's)", n)
	}
}

// A registration's messages page by pageNumber and pageSize, oldest
// first, each page the slice of the whole list at its position, with the
// list's totalCount; a state filter pages and counts that state's alone,
// and another registration's messages are not this one's.
func TestMessagesPages(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	id := s.Do("POST", reg, key, body("https://erp.example.com/hooks", 42)).Want(t, 201).Num("id")
	s.Do("POST", reg, key, body("https://erp.example.com/hooks", 43)).Want(t, 201)
	for i := range 7 {
		s.Do("POST", "/v1/tenants/acme/events", key, map[string]any{"type": "Unit.Updated", "payload": map[string]any{"id": i},
			"attributes": map[string]any{"party_id": []string{"42", "43"}[i%2]}}).Want(t, 202)
	}
	// Party 42's: events 0, 2, 4 and 6.
	path := fmt.Sprintf("%s/%d/webhooks", reg, id)
	all := s.Do("GET", path, key, nil).Want(t, 200)
	if all.Num("totalCount") != 4 || all.Len("items") != 4 {
		t.Fatalf("messages %s", all.Body)
	}
	ids := make([]string, 4)
	for i := range ids {
		ids[i] = all.Str(fmt.Sprintf("items.%d.id", i))
	}
	if !slices.IsSorted(ids) {
		t.Fatalf("messages not oldest first: %v", ids)
	}
	page := func(query string) (got []string, total int64) {
		t.Helper()
		r := s.Do("GET", path+"?"+query, key, nil).Want(t, 200)
		for i := range r.Len("items") {
			got = append(got, r.Str(fmt.Sprintf("items.%d.id", i)))
		}
		return got, r.Num("totalCount")
	}
	for _, tt := range []struct {
		query string
		want  []string
		total int64
	}{
		{"pageSize=3", ids[:3], 4},
		{"pageSize=3&pageNumber=2", ids[3:], 4},
		{"pageSize=3&pageNumber=3", nil, 4},
		{"pageSize=1&pageNumber=2", ids[1:2], 4},
		{"pageSize=2&pageNumber=2&state=1", ids[2:], 4},
		{"state=3", nil, 0},
	} {
		if got, total := page(tt.query); !slices.Equal(got, tt.want) || total != tt.total {
			t.Errorf("?%s: %v, totalCount %d; want %v, %d", tt.query, got, total, tt.want, tt.total)
		}
	}
	s.Do("POST", "/api/webhooks/"+ids[1]+"/abort", key, nil).Want(t, 200)
	s.Do("POST", "/api/webhooks/"+ids[3]+"/resolve", key, nil).Want(t, 200)
	for _, tt := range []struct {
		query string
		want  []string
		total int64
	}{
		{"state=5", ids[1:2], 1},
		{"state=1&pageSize=1&pageNumber=2", ids[2:3], 2},
		{"state=5&state=7", []string{ids[1], ids[3]}, 2},
		{"state=7&state=1&pageSize=2&pageNumber=2", ids[3:], 3},
		// The last page there may be, far past the end: empty, the
		// total still counted.
		{"pageNumber=2147483647&pageSize=100", nil, 4},
		{"pageNumber=2147483647&pageSize=100&state=5", nil, 1},
	} {
		if got, total := page(tt.query); !slices.Equal(got, tt.want) || total != tt.total {
			t.Errorf("?%s: %v, totalCount %d; want %v, %d", tt.query, got, total, tt.want, tt.total)
		}
	}
	// A bad page is the validation problem naming each bad parameter once.
	for query, want := range map[string]map[string][]string{
		"pageNumber=0&pageSize=101":                  {"pageNumber": {"must be between 1 and 2147483647"}, "pageSize": {"must be between 1 and 100"}},
		"pageNumber=2147483648":                      {"pageNumber": {"must be between 1 and 2147483647"}},
		"pageNumber=-1&pageSize=0":                   {"pageNumber": {"must be between 1 and 2147483647"}, "pageSize": {"must be between 1 and 100"}},
		"pageNumber=x&pageSize=1.5":                  {"pageNumber": {"must be an integer"}, "pageSize": {"must be an integer"}},
		"pageNumber=99999999999999999999":            {"pageNumber": {"must be an integer"}},
		"pageNumber=1&pageNumber=2&pageSize=":        {"pageNumber": {"must be an integer"}, "pageSize": {"must be an integer"}},
		"pageSize=5&pageSize=5&state=1&pageNumber=0": {"pageNumber": {"must be between 1 and 2147483647"}, "pageSize": {"must be an integer"}},
	} {
		t.Run(query, func(t *testing.T) { wantErrors(t, s.Do("GET", path+"?"+query, key, nil), want) })
	}
}

// Each tenant's registration counts and pages its own messages only:
// two tenants' registrations of the same number and party, published to
// alike, answer each its tenant's, and one tenant's key reaches no
// message of the other's.
func TestMessagesTenants(t *testing.T) {
	t.Parallel()
	s, acme := start(t, dialecttest.Options{NoEngine: true})
	s.Tenant("beta")
	beta := s.Key("beta", hookd.ScopeAdmin)
	want := map[string][]string{}
	for _, k := range []struct{ tenant, key string }{{"acme", acme}, {"beta", beta}} {
		if id := s.Do("POST", reg, k.key, body("https://erp.example.com/hooks", 42)).Want(t, 201).Num("id"); id != 1 {
			t.Fatalf("%s's registration is %d, want 1", k.tenant, id)
		}
		n := map[string]int{"acme": 3, "beta": 5}[k.tenant]
		for i := range n {
			s.Do("POST", "/v1/tenants/"+k.tenant+"/events", k.key, map[string]any{"type": "Unit.Updated", "payload": map[string]any{"id": i},
				"attributes": map[string]any{"party_id": "42"}}).Want(t, 202)
		}
		all := s.Do("GET", "/v1/tenants/"+k.tenant+"/messages", k.key, nil).Want(t, 200)
		for i := range all.Len("data") {
			want[k.tenant] = append(want[k.tenant], all.Str(fmt.Sprintf("data.%d.id", i)))
		}
		slices.Sort(want[k.tenant])
		if len(want[k.tenant]) != n {
			t.Fatalf("%s has %d messages, want %d", k.tenant, len(want[k.tenant]), n)
		}
	}
	// beta aborts one of its own: acme's counts by state do not move.
	s.Do("POST", "/api/webhooks/"+want["beta"][0]+"/abort", beta, nil).Want(t, 200)
	s.Do("POST", "/api/webhooks/"+want["beta"][0]+"/abort", acme, nil).Want(t, 404)
	s.Do("POST", "/api/webhooks/"+want["acme"][0]+"/resolve", beta, nil).Want(t, 404)
	for _, tt := range []struct {
		key, query string
		want       []string
		total      int64
	}{
		{acme, "", want["acme"], 3},
		{beta, "", want["beta"], 5},
		{acme, "pageSize=2&pageNumber=2", want["acme"][2:], 3},
		{beta, "pageSize=2&pageNumber=3", want["beta"][4:], 5},
		{acme, "state=5", nil, 0},
		{beta, "state=5", want["beta"][:1], 1},
		{acme, "state=1", want["acme"], 3},
		{beta, "state=1&state=3", want["beta"][1:], 4},
	} {
		r := s.Do("GET", reg+"/1/webhooks?"+tt.query, tt.key, nil).Want(t, 200)
		var got []string
		for i := range r.Len("items") {
			got = append(got, r.Str(fmt.Sprintf("items.%d.id", i)))
		}
		if !slices.Equal(got, tt.want) || r.Num("totalCount") != tt.total {
			t.Errorf("%s ?%s: %v, totalCount %d; want %v, %d", map[string]string{acme: "acme", beta: "beta"}[tt.key], tt.query,
				got, r.Num("totalCount"), tt.want, tt.total)
		}
	}
}

// A grouped registration holds a group behind a failed message (state 4,
// the next one 6, Pending) until it is resolved (7); abort (5) and retry
// act on messages by id.
func TestGroupStatesAndActions(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{})
	rc := s.Receiver()
	rc.Status.Store(http.StatusInternalServerError)
	id := s.Do("POST", reg, key, body(rc.URL, 42)).Want(t, 201).Num("id")
	path := fmt.Sprintf("%s/%d/webhooks", reg, id)
	for i := range 2 {
		s.Do("POST", "/v1/tenants/acme/events", key, map[string]any{"type": "Unit.Updated", "payload": i,
			"attributes": map[string]any{"party_id": "42"}, "group": "property-12"}).Want(t, 202)
	}
	var m *dialecttest.Resp
	dialecttest.Eventually(t, "the first message to fail", func() bool {
		m = s.Do("GET", path, key, nil).Want(t, 200)
		return m.Num("items.0.state") == 4
	})
	if m.Str("items.0.stateName") != "Failed" || m.Len("items.0.attempts") != 7 || m.Num("items.0.attempts.6.statusCode") != 500 ||
		m.Str("items.0.attempts.6.error") != "http_status" || m.Num("items.1.state") != 6 || m.Str("items.1.stateName") != "Pending" {
		t.Fatalf("after the failure: %s", m.Body)
	}
	first, second := m.Str("items.0.id"), m.Str("items.1.id")

	// Resolving the failed message releases the group; the receiver now
	// answers 200, so the second is delivered.
	rc.Status.Store(http.StatusOK)
	r := s.Do("POST", "/api/webhooks/"+first+"/resolve", key, nil).Want(t, 200)
	if r.Num("state") != 7 || r.Str("stateName") != "Resolved" || r.Str("id") != first || r.Len("attempts") != 7 {
		t.Fatalf("resolve: %s", r.Body)
	}
	dialecttest.Eventually(t, "the second message to be delivered", func() bool {
		return s.Do("GET", path+"?state=3", key, nil).Want(t, 200).Num("totalCount") == 1
	})
	wantProblem(t, s.Do("POST", "/api/webhooks/"+second+"/abort", key, nil), 409, "Conflict")
	// Retry sends the resolved one again.
	if r := s.Do("POST", "/api/webhooks/"+first+"/retry", key, nil).Want(t, 200); r.Num("state") != 1 && r.Num("state") != 2 {
		t.Fatalf("retry: %s", r.Body)
	}
	dialecttest.Eventually(t, "the retried message to be delivered", func() bool {
		return s.Do("GET", path+"?state=3", key, nil).Want(t, 200).Num("totalCount") == 2
	})
	// Abort: a message still waiting.
	rc.Status.Store(http.StatusServiceUnavailable)
	s.Do("POST", "/v1/tenants/acme/events", key, map[string]any{"type": "Process.Created",
		"attributes": map[string]any{"party_id": "42"}}).Want(t, 202)
	var third string
	dialecttest.Eventually(t, "a third message", func() bool {
		r := s.Do("GET", path+"?state=1&state=2&state=4", key, nil).Want(t, 200)
		third = r.Str("items.0.id")
		return third != ""
	})
	r = s.Do("POST", "/api/webhooks/"+third+"/abort", key, nil).Want(t, 200)
	if r.Num("state") != 5 || r.Str("stateName") != "Aborted" || r.Str("entityName") != "Process" || r.Num("type") != 1 {
		t.Fatalf("abort: %s", r.Body)
	}
}

// Every route is in the dialect's OpenAPI document, served at
// /openapi/property.json.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	s, _ := start(t, dialecttest.Options{NoEngine: true})
	dialecttest.CheckOpenAPI(t, s.APIs[0])
	r := s.Do("GET", "/openapi/property.json", "", nil).Want(t, 200)
	if r.Str("openapi") == "" || !slices.Contains(s.APIs[0].Routes(), "POST /api/webhook-registrations") {
		t.Fatalf("served document %s", r.Body[:100])
	}
}

// A tenant with an event type catalogue may register only declared types,
// as in /v1.
func TestEventTypeCatalogue(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	s.Do("POST", "/v1/tenants/acme/event-types", key, map[string]any{"name": "Unit.Updated"}).Want(t, 201)
	wantErrors(t, s.Do("POST", reg, key, body("https://erp.example.com/hooks", 42)), map[string][]string{
		"enabledEvents[1]": {"matches no declared event type of this tenant (see /v1/tenants/{tenant}/event-types); " +
			"archived types cannot be subscribed to"}})
	b := body("https://erp.example.com/hooks", 42)
	b["enabledEvents"] = []map[string]any{{"type": 2, "entityName": "Unit"}}
	s.Do("POST", reg, key, b).Want(t, 201)
}
