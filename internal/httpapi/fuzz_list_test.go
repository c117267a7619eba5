package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// FuzzListQuery sends arbitrary query strings to every list: never a
// 5xx; a page of JSON whose next_cursor, sent back, is a page too; or a
// problem document whose every field is a parameter of the query (the
// problem names what the client sent, each at once).
func FuzzListQuery(f *testing.F) {
	h, _, db := fuzzServer(f)
	ctx := context.Background()
	in := hookd.EventInput{Type: "Unit.Updated", Payload: json.RawMessage(`{"i":1}`)}
	if _, err := db.Publish(ctx, "acme", []hookd.EventInput{in, in, in}, time.Now()); err != nil {
		f.Fatal(err)
	}
	msgs, err := db.ListMessages(ctx, "acme", hookd.MessageFilter{Page: hookd.Page{Limit: 1}})
	if err != nil || len(msgs) == 0 {
		f.Fatal("no message", err)
	}
	lists := []string{"/v1/tenants", "/v1/tenants/acme/keys", "/v1/tenants/acme/webhooks", "/v1/tenants/acme/events",
		"/v1/tenants/acme/messages", "/v1/tenants/acme/messages/" + msgs[0].ID + "/attempts", "/v1/tenants/acme/event-types"}
	for _, q := range []string{"limit=1", "limit=0&cursor=x", "limit=1000&cursor=d2hfeA", "offset=2&count=1&limit=1",
		"name=hook&url=https://example.com/x&url_prefix=https://example.com/&enabled=true&suspended=false&active=true&event_type=Unit.Updated",
		"type=Unit.Updated&since=2020-01-01T00:00:00Z&until=2100-01-01T00:00:00Z", "webhook_id=wh_x&event_id=evt_x&state=created&state=failed",
		"include_archived=true", "limit=1&limit=2", "cursor=%00", "%zz", "enabled=maybe&since=yesterday", "st%C3%28te=1", "limit=+5", "cursor="} {
		for i := range lists {
			f.Add(uint8(i), q)
		}
	}
	get := func(path, rawQuery string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.URL.RawQuery = rawQuery
		req.Header.Set("Authorization", "Bearer "+rootToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	f.Fuzz(func(t *testing.T, list uint8, rawQuery string) {
		if strings.ContainsAny(rawQuery, " #\r\n\x00\t") {
			t.Skip("not sendable")
		}
		path := lists[int(list)%len(lists)]
		rec := get(path, rawQuery)
		switch {
		case rec.Code >= 500:
			t.Fatalf("%s?%s: %d: %s", path, rawQuery, rec.Code, rec.Body)
		case rec.Code == http.StatusOK:
			var page struct {
				Data       []json.RawMessage
				NextCursor *string `json:"next_cursor"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || page.Data == nil {
				t.Fatalf("%s?%s: not a page: %s", path, rawQuery, rec.Body)
			}
			if page.NextCursor != nil {
				q, _ := url.ParseQuery(rawQuery)
				q.Set("cursor", *page.NextCursor)
				if next := get(path, q.Encode()); next.Code != http.StatusOK {
					t.Fatalf("%s?%s: the next_cursor's page: %d: %s", path, q.Encode(), next.Code, next.Body)
				}
			}
		case rec.Code == http.StatusBadRequest:
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("%s?%s: 400 of type %q", path, rawQuery, ct)
			}
			var p struct {
				Detail string
				Errors []hookd.FieldError
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || len(p.Errors) == 0 && p.Detail == "" {
				t.Fatalf("%s?%s: a 400 that names nothing: %s", path, rawQuery, rec.Body)
			}
			q, err := url.ParseQuery(rawQuery)
			sent := map[string]bool{}
			for name := range q {
				b, _ := json.Marshal(name) // as the answer writes it: bytes not UTF-8 become U+FFFD
				var as string
				json.Unmarshal(b, &as)
				sent[as] = true
			}
			for _, fe := range p.Errors {
				if err != nil || !sent[fe.Field] || fe.Message == "" {
					t.Fatalf("%s?%s: the error on %q is no parameter sent: %s", path, rawQuery, fe.Field, rec.Body)
				}
			}
		default:
			t.Fatalf("%s?%s: unexpected status %d: %s", path, rawQuery, rec.Code, rec.Body)
		}
	})
}
