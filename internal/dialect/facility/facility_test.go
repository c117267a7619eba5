package facility_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/dialect"
	"github.com/hookd/hookd/internal/dialect/dialecttest"
	"github.com/hookd/hookd/internal/dialect/facility"
)

const path = "/api/v2/public/webhooks/user"

func start(t *testing.T, opts dialecttest.Options) (*dialecttest.Server, string) {
	t.Helper()
	opts.Dialects = []func(dialect.Env) dialect.API{func(e dialect.Env) dialect.API { return facility.New(e) }}
	s := dialecttest.Start(t, opts)
	s.Tenant("acme")
	return s, s.Key("acme", hookd.ScopeAdmin)
}

// wantMessages fails unless r is the seed's 400 listing exactly msgs.
func wantMessages(t *testing.T, r *dialecttest.Resp, msgs ...string) {
	t.Helper()
	r.WantJSON(t, 400, map[string]any{"message": msgs, "error": "Bad Request", "statusCode": 400})
}

// The seed's example: its request, and its answer with the id, the
// tenant as clientId and both secrets.
func TestCreateAsTheSeedShows(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	req := `{"url": "https://exemple.com/webhook", "events": ["facility.creation.accepted", "facility.user-connection.accepted"],
		"secrets": ["sDV1aKqitCLClI12m7UPFbAAvZfZquJw", "mryefgHPBVHJwux0o3BYW7hPM0BZlcCa"]}`
	r := s.Do("POST", path, key, req).Want(t, 201)
	id := r.Str("data.id")
	r.WantJSON(t, 201, `{"data": {"id": "`+id+`", "url": "https://exemple.com/webhook",
		"events": ["facility.creation.accepted", "facility.user-connection.accepted"], "clientId": "acme",
		"secrets": ["sDV1aKqitCLClI12m7UPFbAAvZfZquJw", "mryefgHPBVHJwux0o3BYW7hPM0BZlcCa"]}}`)
	if got := s.Secrets("acme", id); len(got) != 2 || got[0] != "sDV1aKqitCLClI12m7UPFbAAvZfZquJw" {
		t.Fatalf("native secrets %q", got)
	}

	// Without secrets one is generated; "all" listens to every event.
	r = s.Do("POST", path, key, map[string]any{"url": "https://exemple.com/all", "events": []string{"all"}}).Want(t, 201)
	if r.Len("data.secrets") != 1 || !strings.HasPrefix(r.Str("data.secrets.0"), "whsec_") || r.Str("data.events.0") != "all" {
		t.Fatalf("generated secret: %s", r.Body)
	}
	all := r.Str("data.id")

	// List, get and delete show no secrets; a webhook that is not the
	// facility's (native, Unit.*) is not listed.
	s.Do("POST", "/v1/tenants/acme/webhooks", key, map[string]any{"name": "n", "url": "https://x.example.com/",
		"event_types": []string{"Unit.*"}}).Want(t, 201)
	l := s.Do("GET", path, key, nil).Want(t, 200)
	if l.Len("data") != 2 || l.Str("data.0.id") != id || l.Str("data.1.id") != all || l.Get("data.0.secrets") != nil {
		t.Fatalf("list %s", l.Body)
	}
	s.Do("GET", path+"/"+id, key, nil).WantJSON(t, 200, `{"data": {"id": "`+id+`", "url": "https://exemple.com/webhook",
		"events": ["facility.creation.accepted", "facility.user-connection.accepted"], "clientId": "acme"}}`)
	s.Do("DELETE", path+"/"+id, key, nil).Want(t, 204)
	notFound := `{"message": "Webhook not found", "error": "Not Found", "statusCode": 404}`
	s.Do("GET", path+"/"+id, key, nil).WantJSON(t, 404, notFound)
	s.Do("DELETE", path+"/"+id, key, nil).WantJSON(t, 404, notFound)
	s.Do("GET", path+"/wh_nope", key, nil).WantJSON(t, 404, notFound)
}

// Every violation at once, in the seed's words and order.
func TestValidation(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true, HTTPSOnly: true})
	const eachEvent = "each value in events must be one of the following values: all, facility.user-connection.accepted, " +
		"facility.user-connection.rejected, facility.creation.accepted, facility.creation.rejected"
	wantMessages(t, s.Do("POST", path, key, `{}`),
		"should be a secure URL with HTTPS", "url must be a string", "events must contain at least 1 elements", "events must be an array")
	wantMessages(t, s.Do("POST", path, key, ``),
		"should be a secure URL with HTTPS", "url must be a string", "events must contain at least 1 elements", "events must be an array")
	wantMessages(t, s.Do("POST", path, key, `{"url": 5, "events": "all", "secrets": "s"}`),
		"should be a secure URL with HTTPS", "url must be a string", "events must contain at least 1 elements",
		"events must be an array", "secrets must be an array")
	wantMessages(t, s.Do("POST", path, key, map[string]any{"url": "http://exemple.com/webhook", "events": []any{"all", "nope", 3},
		"secrets": []string{"sDV1aKqitCLClI12m7UPFbAAvZfZquJw", "mryefgHPBVHJwux0o3BYW7hPM0BZlcCa", "third-secret-of-16+"}}),
		"should be a secure URL with HTTPS", eachEvent, "secrets must contain no more than 2 elements")
	wantMessages(t, s.Do("POST", path, key, map[string]any{"url": "https://exemple.com/", "events": []string{}}),
		"events must contain at least 1 elements")
	// The domain's rules, in the field's words; members the seed does not
	// have.
	wantMessages(t, s.Do("POST", path, key, map[string]any{"url": "https://user:pw@exemple.com/", "events": []string{"all"},
		"secrets": []any{"short", 7}, "name": "x"}),
		"url must not contain credentials; use auth", "each value in secrets must be a string",
		"each value in secrets must be whsec_<base64> or 16..128 printable ASCII characters", "property name should not exist")
	wantMessages(t, s.Do("POST", path, key, `{"url": "https://exemple.com/", "events": [`),
		"malformed JSON at byte 43: unexpected end of JSON input")
	wantMessages(t, s.Do("POST", path, key, `["all"]`), "the body must be a JSON object")
	if r := s.Do("GET", path, key, nil).Want(t, 200); r.Len("data") != 0 {
		t.Fatalf("refused bodies stored webhooks: %s", r.Body)
	}
}

// A server that allows http takes http:// URLs.
func TestHTTPAllowed(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	s.Do("POST", path, key, map[string]any{"url": "http://exemple.com/webhook", "events": []string{"all"}}).Want(t, 201)
	wantMessages(t, s.Do("POST", path, key, map[string]any{"url": "ftp://exemple.com/", "events": []string{"all"}}),
		"url must be an absolute http or https URL")
}

// 401, 403, 404, 405, 409, 413, 415 in NestJS's shape.
func TestErrorAnswers(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	ok := map[string]any{"url": "https://exemple.com/webhook", "events": []string{"all"}}
	unauthorized := `{"message": "Unauthorized", "statusCode": 401}`
	s.Do("POST", path, "", ok).WantJSON(t, 401, unauthorized)
	s.Do("GET", path, "hk_unknown", nil).WantJSON(t, 401, unauthorized)
	forbidden := `{"message": "Forbidden Resource", "error": "Forbidden", "statusCode": 403}`
	reader := s.Key("acme", hookd.ScopeWebhooksRead)
	s.Do("POST", path, reader, ok).WantJSON(t, 403, forbidden)
	s.Do("GET", path, reader, nil).WantJSON(t, 403, forbidden)
	s.Do("GET", path, dialecttest.RootToken, nil).WantJSON(t, 403, forbidden)

	s.Do("GET", path+"/x/y", key, nil).WantJSON(t, 404,
		`{"message": "Cannot GET /api/v2/public/webhooks/user/x/y", "error": "Not Found", "statusCode": 404}`)
	r := s.Do("PUT", path, key, ok)
	r.WantJSON(t, 405, `{"message": "method PUT is not allowed here", "error": "Method Not Allowed", "statusCode": 405}`)
	if r.Header.Get("Allow") == "" {
		t.Fatal("405 without Allow")
	}
	s.Do("POST", path, key, ok).Want(t, 201)
	s.Do("POST", path, key, ok).WantJSON(t, 409,
		`{"message": "a webhook with this URL and filter exists", "error": "Conflict", "statusCode": 409}`)
	s.Do("POST", path, key, `{"url": "`+strings.Repeat("a", dialect.MaxBody)+`"}`).WantJSON(t, 413,
		`{"message": "the body is larger than 1048576 bytes", "error": "Payload Too Large", "statusCode": 413}`)
	s.Do("POST", path, key, "url=x", "Content-Type", "text/plain").WantJSON(t, 415,
		`{"message": "the body must be application/json", "error": "Unsupported Media Type", "statusCode": 415}`)
}

// The round: register, publish a facility event through /v1, receive it
// signed by both secrets, see the message (through /v1: the seed shows no
// messages).
func TestRound(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{})
	rc := s.Receiver()
	secrets := []string{"sDV1aKqitCLClI12m7UPFbAAvZfZquJw", "mryefgHPBVHJwux0o3BYW7hPM0BZlcCa"}
	id := s.Do("POST", path, key, map[string]any{"url": rc.URL + "/facility", "events": []string{"facility.creation.accepted"},
		"secrets": secrets}).Want(t, 201).Str("data.id")
	for _, typ := range []string{"facility.creation.rejected", "facility.creation.accepted"} {
		s.Do("POST", "/v1/tenants/acme/events", key, map[string]any{"type": typ, "payload": map[string]any{"facilityId": "f-1"}}).Want(t, 202)
	}
	req := rc.Wait(t, 1)[0]
	for _, secret := range secrets {
		dialecttest.Verify(t, secret, req) // either secret verifies: rotation
	}
	if n := strings.Count(req.Header.Get("webhook-signature"), "v1,"); n != 2 {
		t.Fatalf("webhook-signature %q, want two signatures", req.Header.Get("webhook-signature"))
	}
	var got struct{ Type string }
	json.Unmarshal(req.Body, &got)
	if got.Type != "facility.creation.accepted" {
		t.Fatalf("delivered %s", req.Body)
	}
	dialecttest.Eventually(t, "the message to be successful", func() bool {
		r := s.Do("GET", "/v1/tenants/acme/messages?webhook_id="+id, key, nil).Want(t, 200)
		return r.Len("data") == 1 && r.Str("data.0.state") == "successful"
	})
	if n := len(rc.Requests()); n != 1 {
		t.Fatalf("the receiver got %d requests, want 1", n)
	}
}

// Every route is in the dialect's OpenAPI document.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	s, _ := start(t, dialecttest.Options{NoEngine: true})
	dialecttest.CheckOpenAPI(t, s.APIs[0])
	s.Do("GET", "/openapi/facility.json", "", nil).Want(t, 200)
}

// A tenant with an event type catalogue may subscribe only to declared
// types, as in /v1; all is always allowed.
func TestEventTypeCatalogue(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	s.Do("POST", "/v1/tenants/acme/event-types", key, map[string]any{"name": "facility.creation.accepted"}).Want(t, 201)
	wantMessages(t, s.Do("POST", path, key, map[string]any{"url": "https://exemple.com/", "events": []string{
		"facility.creation.accepted", "facility.creation.rejected"}}),
		"each value in events matches no declared event type of this tenant (see /v1/tenants/{tenant}/event-types); "+
			"archived types cannot be subscribed to")
	s.Do("POST", path, key, map[string]any{"url": "https://exemple.com/a", "events": []string{"facility.creation.accepted"}}).Want(t, 201)
	s.Do("POST", path, key, map[string]any{"url": "https://exemple.com/b", "events": []string{"all"}}).Want(t, 201)
}
