package httpapi_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// Every list answers a query parameter it does not take with a 400 naming
// it (issue 14: an enterprise client's offset=2&count=1 silently got
// everything), and takes every query parameter openapi.json declares for it.
func TestListQueryParameters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("a")
	e.mustWebhook("a", hook("x"))
	ev := e.do("POST", "/v1/tenants/a/events", rootToken, map[string]any{"type": "Unit.Updated", "payload": map[string]any{}}).want(t, 202)
	msgs := e.do("GET", "/v1/tenants/a/messages?event_id="+ev.str("event_id"), rootToken, nil).want(t, 200).data()
	if len(msgs) != 1 {
		t.Fatalf("messages of the event: %v", msgs)
	}
	msg := msgs[0]["id"].(string)

	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Ref  string `json:"$ref"`
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		} `json:"paths"`
		Components struct {
			Parameters map[string]struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(e.do("GET", "/openapi.json", "", nil).want(t, 200).Body, &doc); err != nil {
		t.Fatal(err)
	}
	// A valid value of each parameter a list takes.
	valid := map[string]string{
		"limit": "2", "cursor": "", "name": "hook", "url": "https://example.com/x", "url_prefix": "https://example.com/",
		"enabled": "true", "suspended": "false", "active": "true", "event_type": "Unit.Updated", "type": "Unit.Updated",
		"since": "2020-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z", "webhook_id": "wh_x", "event_id": "evt_x",
		"state": "created", "include_archived": "true",
	}
	for _, path := range []string{"/v1/tenants", "/v1/tenants/{tenant}/keys", "/v1/tenants/{tenant}/webhooks",
		"/v1/tenants/{tenant}/events", "/v1/tenants/{tenant}/messages", "/v1/tenants/{tenant}/messages/{id}/attempts",
		"/v1/tenants/{tenant}/event-types"} {
		real := strings.NewReplacer("{tenant}", "a", "{id}", msg).Replace(path)
		t.Run(path, func(t *testing.T) {
			r := e.do("GET", real+"?offset=2&count=1&limit=1", rootToken, nil)
			r.wantFields(t, 400, "offset", "count")
			if !strings.Contains(string(r.Body), "which takes limit, cursor") {
				t.Errorf("the problem does not say which parameters the list takes: %s", r.Body)
			}
			q := url.Values{}
			for _, p := range doc.Paths[path]["get"].Parameters {
				name, in := p.Name, p.In
				if p.Ref != "" {
					c, ok := doc.Components.Parameters[p.Ref[strings.LastIndex(p.Ref, "/")+1:]]
					if !ok {
						t.Fatalf("%s: no component parameter %s", path, p.Ref)
					}
					name, in = c.Name, c.In
				}
				if in != "query" {
					continue
				}
				v, ok := valid[name]
				if !ok {
					t.Fatalf("no valid value known for %s's query parameter %s", path, name)
				}
				q.Set(name, v)
			}
			if len(q) < 2 {
				t.Fatalf("openapi.json declares only %v for %s", q, path)
			}
			e.do("GET", real+"?"+q.Encode(), rootToken, nil).want(t, 200)
		})
	}
}
