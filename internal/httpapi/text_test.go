package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// ff is a byte that is never UTF-8.
const ff = "\xff"

// textCase is a request carrying text no store can keep: a NUL (U+0000) in
// a decoded string, or bytes that are not UTF-8. In path, {wh}, {evt},
// {msg} and {key} stand for ids of the fixture (see unstorableText).
type textCase struct {
	name         string
	method, path string
	body         any // a string is sent as is
	status       int
	fields       []string // nil: not checked (404s name no field)
}

var unstorableTextCases = []textCase{
	// Bodies that are not UTF-8: 400 naming the string that holds the bytes.
	{"payload not UTF-8", "POST", "/events", `{"type":"t","payload":"` + ff + `"}`, 400, []string{"payload"}},
	{"payload member not UTF-8", "POST", "/events", `{"type":"t","payload":{"a":["ok","x` + ff + `"]}}`, 400, []string{"payload.a[1]"}},
	{"payload member name not UTF-8", "POST", "/events", `{"type":"t","payload":{"` + ff + `":1}}`, 400, []string{"payload.\ufffd"}},
	{"group not UTF-8 beside an unknown field", "POST", "/events", `{"type":"t","group":"g` + ff + `","bogus":1}`, 400, []string{"group", "bogus"}},
	{"attribute name not UTF-8", "POST", "/events", `{"type":"t","attributes":{"` + ff + `":"v"}}`, 400, []string{"attributes.\ufffd"}},
	{"member name not UTF-8", "POST", "/events", `{"type":"t","` + ff + `":1}`, 400, []string{"\ufffd"}},
	{"batch payload not UTF-8", "POST", "/events/batch", `{"events":[{"type":"t"},{"type":"t","payload":"` + ff + `"}]}`, 400, []string{"events[1].payload"}},
	{"webhook name not UTF-8", "POST", "/webhooks", `{"name":"` + ff + `","url":"https://example.com/u","event_types":["*"]}`, 400, []string{"name"}},
	{"webhook patch not UTF-8", "PATCH", "/webhooks/{wh}", `{"description":"` + "\xc3\x28" + `"}`, 400, []string{"description"}},
	{"tenant name not UTF-8", "POST", "/v1/tenants", `{"id":"t2","name":"` + ff + `"}`, 400, []string{"name"}},
	{"key name not UTF-8", "POST", "/keys", `{"name":"` + ff + `","scopes":["admin"]}`, 400, []string{"name"}},

	// A NUL in a decoded string: 400 naming the field, with every other
	// problem of the body.
	{"event fields with NUL", "POST", "/events",
		`{"type":"t","group":"g\u0000","idempotency_key":"k\u0000","attributes":{"a":"v\u0000","b\u0000":"v","c":"ok"},"bogus":1}`, 400,
		[]string{"group", "idempotency_key", "attributes.a", "attributes.b\x00", "bogus"}},
	{"event type with NUL", "POST", "/events", `{"type":"t\u0000"}`, 400, []string{"type"}},
	{"batch event with NUL", "POST", "/events/batch",
		`{"events":[{"type":"t"},{"type":"t"},{"type":"t"},{"type":"t","group":"\u0000"}]}`, 400, []string{"events[3].group"}},
	{"webhook fields with NUL", "POST", "/webhooks",
		`{"name":"n\u0000","description":"d\u0000","url":"https://example.com/\u0000","event_types":["*","a\u0000"],
		  "filter":{"k":"v\u0000","k\u0000":"v"},"headers":{"X-Foo":["ok","v\u0000"],"X-\u0000":["v"]},
		  "auth":{"type":"basic","username":"u\u0000","password":"p\u0000"},"secrets":["0123456789abcdef\u0000"]}`, 400,
		[]string{"name", "description", "url", "event_types[1]", "filter.k", "filter.k\x00", "headers.X-Foo[1]", "headers.X-\x00",
			"auth.username", "auth.password", "secrets[0]"}},
	{"webhook name with NUL beside a rule broken", "POST", "/webhooks",
		`{"name":"\u0000","url":"https://example.com/n","event_types":["*"],"timeout_ms":1}`, 400, []string{"name", "timeout_ms"}},
	{"webhook patch with NUL", "PATCH", "/webhooks/{wh}",
		`{"name":"n\u0000","filter":{"k":"\u0000"},"remove_headers":["\u0000"],"remove_event_types":["\u0000"]}`, 400,
		[]string{"name", "filter.k", "remove_headers[0]", "remove_event_types[0]"}},
	{"webhook put with NUL", "PUT", "/webhooks/{wh}", `{"name":"n","description":"\u0000","url":"https://example.com/a","event_types":["*"]}`, 400,
		[]string{"description"}},
	{"tenant with NUL", "POST", "/v1/tenants", `{"id":"t\u0000","name":"n\u0000"}`, 400, []string{"id", "name"}},
	{"key with NUL", "POST", "/keys", `{"name":"k\u0000","scopes":["admin","x\u0000"]}`, 400, []string{"name", "scopes[1]"}},
	{"test event type with NUL", "POST", "/webhooks/{wh}/test", `{"type":"t\u0000"}`, 400, []string{"type"}},
	{"rotated secret with NUL", "POST", "/webhooks/{wh}/secrets/rotate", `{"secret":"0123456789abcdef\u0000"}`, 400, []string{"secret"}},

	// A path id with NUL or bytes that are not UTF-8 names nothing: 404.
	{"tenant id NUL", "GET", "/v1/tenants/%00", nil, 404, nil},
	{"tenant id not UTF-8", "DELETE", "/v1/tenants/a%FF", nil, 404, nil},
	{"tenant id NUL under tenant", "GET", "/v1/tenants/%00/webhooks", nil, 404, nil},
	{"tenant id not UTF-8 publishing", "POST", "/v1/tenants/%FF/events", `{"type":"t"}`, 404, nil},
	{"webhook id NUL", "GET", "/webhooks/wh_%00", nil, 404, nil},
	{"webhook id not UTF-8 put", "PUT", "/webhooks/%FF", `{"name":"n","url":"https://example.com/p","event_types":["*"]}`, 404, nil},
	{"webhook id NUL patch", "PATCH", "/webhooks/%00", `{"name":"n"}`, 404, nil},
	{"webhook id not UTF-8 delete", "DELETE", "/webhooks/%C3%28", nil, 404, nil},
	{"webhook id NUL unsuspend", "POST", "/webhooks/%00/unsuspend", nil, 404, nil},
	{"webhook id NUL test", "POST", "/webhooks/%00/test", nil, 404, nil},
	{"webhook id NUL secrets", "GET", "/webhooks/%00/secrets", nil, 404, nil},
	{"webhook id not UTF-8 rotate", "POST", "/webhooks/%FF/secrets/rotate", nil, 404, nil},
	{"webhook id NUL recover", "POST", "/webhooks/%00/recover", `{"since":"2020-01-01T00:00:00Z"}`, 404, nil},
	{"event id NUL", "GET", "/events/evt_%00", nil, 404, nil},
	{"event id not UTF-8", "GET", "/events/%FF", nil, 404, nil},
	{"message id NUL", "GET", "/messages/%00", nil, 404, nil},
	{"message id not UTF-8 attempts", "GET", "/messages/%FF/attempts", nil, 404, nil},
	{"message id NUL retry", "POST", "/messages/%00/retry", nil, 404, nil},
	{"message id NUL abort", "POST", "/messages/%00/abort", nil, 404, nil},
	{"message id not UTF-8 resolve", "POST", "/messages/%FF/resolve", nil, 404, nil},
	{"key id NUL", "DELETE", "/keys/%00", nil, 404, nil},

	// A query parameter with NUL or bytes that are not UTF-8: 400 naming
	// it, with every other problem of the query.
	{"webhook list filters", "GET", "/webhooks?name=%00&url=%FF&url_prefix=https://x/%00&event_type=Unit.*&event_type=%00&cursor=%FF&limit=0", nil, 400,
		[]string{"name", "url", "url_prefix", "event_type", "cursor", "limit"}},
	{"webhook list parameter name", "GET", "/webhooks?%FF=1", nil, 400, []string{"\ufffd"}},
	{"event list filters", "GET", "/events?type=%FF&cursor=%00&since=x", nil, 400, []string{"type", "cursor", "since"}},
	{"message list filters", "GET", "/messages?webhook_id=%00&event_id=%FF&event_type=%00&state=created&state=%FF", nil, 400,
		[]string{"webhook_id", "event_id", "event_type", "state"}},
	{"tenant list cursor", "GET", "/v1/tenants?cursor=%00", nil, 400, []string{"cursor"}},
	{"key list cursor", "GET", "/keys?cursor=%FF", nil, 400, []string{"cursor"}},
	{"attempt list cursor", "GET", "/messages/{msg}/attempts?cursor=%00", nil, 400, []string{"cursor"}},
}

func TestUnstorableText(t *testing.T) {
	t.Parallel()
	unstorableText(t, newEnv(t))
}

// TestUnstorableTextPostgres runs the same requests against the PostgreSQL
// store, whose TEXT columns can hold neither NUL nor bytes that are not
// UTF-8: the answers are the same 4xx, never a 500.
func TestUnstorableTextPostgres(t *testing.T) {
	t.Parallel()
	db, err := postgres.Open(context.Background(), pgtest.FreshURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	unstorableText(t, newEnvOn(t, db))
}

// unstorableText sends every unstorableTextCases request to e and checks
// its answer and that nothing was stored or changed; then that a payload
// holding the escape \u0000 is accepted and read back as sent.
func unstorableText(t *testing.T, e *env) {
	e.mustTenant("acme")
	wh := e.mustWebhook("acme", hook("a"))
	key := e.do("POST", "/v1/tenants/acme/keys", rootToken, map[string]any{"name": "k", "scopes": []string{"admin"}}).want(t, 201).str("id")
	evt := e.do("POST", "/v1/tenants/acme/events", rootToken, map[string]any{"type": "Unit.A"}).want(t, 202).str("id")
	msgs := e.do("GET", "/v1/tenants/acme/messages", rootToken, nil).want(t, 200).data()
	if len(msgs) != 1 {
		t.Fatalf("fixture: %d messages, want 1", len(msgs))
	}
	msg := msgs[0]["id"].(string)

	// snapshot is everything stored, as the API shows it.
	snapshot := func(e *env) string {
		var b strings.Builder
		for _, p := range []string{"/v1/tenants?limit=1000", "/v1/tenants/acme/keys?limit=1000",
			"/v1/tenants/acme/webhooks?limit=1000", "/v1/tenants/acme/webhooks/" + wh + "/secrets",
			"/v1/tenants/acme/events?limit=1000", "/v1/tenants/acme/messages?limit=1000",
			"/v1/tenants/acme/messages/" + msg + "/attempts"} {
			b.Write(e.do("GET", p, rootToken, nil).want(e.t, 200).Body)
		}
		return b.String()
	}
	ids := strings.NewReplacer("{wh}", wh, "{evt}", evt, "{msg}", msg, "{key}", key)
	for _, tt := range unstorableTextCases {
		t.Run(tt.name, func(t *testing.T) {
			e := *e
			e.t = t
			before := snapshot(&e)
			path := ids.Replace(tt.path)
			if !strings.HasPrefix(path, "/v1/") {
				path = "/v1/tenants/acme" + path
			}
			r := e.do(tt.method, path, rootToken, tt.body)
			if tt.fields != nil {
				r.wantFields(t, tt.status, tt.fields...)
			} else {
				r.want(t, tt.status)
			}
			if after := snapshot(&e); after != before {
				t.Fatalf("%s %s answered %d but changed what is stored", tt.method, path, r.Status)
			}
		})
	}

	// The escape \u0000 inside a payload is JSON text, stored as sent.
	payload := `{"s":"a\u0000b","k\u0000":["\u0000"]}`
	id := e.do("POST", "/v1/tenants/acme/events", rootToken, `{"type":"t","payload":`+payload+`}`).want(t, 202).str("id")
	g := e.do("GET", "/v1/tenants/acme/events/"+id, rootToken, nil).want(t, 200)
	if g.field("payload.s") != "a\x00b" || !strings.Contains(string(g.Body), payload) {
		t.Fatalf("payload read back as %s", g.Body)
	}
	b := e.do("POST", "/v1/tenants/acme/events/batch", rootToken, `{"events":[{"type":"t","payload":"\u0000"}]}`).want(t, 202)
	if len(b.data()) != 1 {
		t.Fatalf("batch: %s", b.Body)
	}
}
