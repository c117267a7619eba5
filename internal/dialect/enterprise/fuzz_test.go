package enterprise_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/dialect"
	"github.com/hookd/hookd/internal/dialect/dialecttest"
	"github.com/hookd/hookd/internal/dialect/enterprise"
)

// nativeShape checks an error answer against the native problem
// document: its status, a hookd type and a title, and a 400 naming its
// fields (each with a message) or with a detail.
func nativeShape(status int, h http.Header, body []byte) error {
	if ct := h.Get("Content-Type"); ct != "application/problem+json" {
		return fmt.Errorf("content type %q", ct)
	}
	var p struct {
		Type, Title, Detail string
		Status              int
		Errors              []struct{ Field, Message string }
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return err
	}
	if p.Status != status || !strings.HasPrefix(p.Type, "https://hookd.dev/errors/") || p.Title == "" {
		return errors.New("want its status, a hookd type and a title")
	}
	if status == http.StatusBadRequest && len(p.Errors) == 0 && p.Detail == "" {
		return errors.New("a 400 names no field and has no detail")
	}
	for _, e := range p.Errors {
		if e.Message == "" {
			return fmt.Errorf("%s without a message", e.Field)
		}
	}
	return nil
}

// FuzzRequest sends arbitrary bodies (create and PATCH), list queries
// and locators to the dialect over a real store: never a 5xx, every error
// a native problem, nothing stored by a refused request, only valid,
// storable webhooks by an accepted one.
func FuzzRequest(f *testing.F) {
	s := dialecttest.Start(f, dialecttest.Options{NoEngine: true, HTTPSOnly: true,
		Dialects: []func(dialect.Env) dialect.API{func(e dialect.Env) dialect.API { return enterprise.New(e) }}})
	s.Tenant("acme")
	key := s.Key("acme", hookd.ScopeAdmin)
	id := s.Do("POST", base+"/webhooks", key, create("https://orders.example.com/in", "order.created", "order.paid")).Want(f, 200).Str("locator")
	s.Do("POST", "/v1/tenants/acme/events", key, map[string]any{"type": "order.created", "payload": 1}).Want(f, 202)

	ok, _ := json.Marshal(create("https://orders.example.com/other", "order.created"))
	for _, b := range []string{
		string(ok),
		`{"name": "min", "endpoint": {"url": "https://min.example.com/"}, "eventTypes": ["a"]}`,
		`{"name": "renamed", "enabled": false, "endpoint": {"url": "https://orders.example.com/v2", "removeHeaders": ["x-tenant", "X-Both"],
		"addHeaders": {"X-Both": ["1"], "X-New": ["a", "b"]}}, "removeEventTypes": ["order.paid", "order.refunded"],
		"addEventTypes": ["order.refunded"], "removeFailureHandling": true}`,
		`{"removeFailureHandling": true, "failureHandling": {"suspendAfter": "2h30m"}, "name": null, "endpoint": null}`,
		`{"addEventTypes": ["ok.type", "bad type"], "endpoint": {"addHeaders": {"Host": ["x"]}, "url": "ftp://x"},
		"failureHandling": {"suspendAfter": "soon"}, "removeFailureHandling": "yes", "color": "red"}`,
		`{"removeEventTypes": ["order.created", "order.paid"]}`,
		`{"name": "n", "endpoint": {"headers": {"X": "y", "Y": [1]}}, "eventTypes": [], "failureHandling": {"suspendAfter": -1}}`,
		`{"name": "n\u0000", "endpoint": {"url": "https://o.example.com/", "headers": {"X\u0000": ["\u0000"]}}, "eventTypes": ["*"]}`,
		`{"name": `, ``, `[]`, "{\"name\": \"\xff\"}",
	} {
		f.Add(uint8(0), "", []byte(b))
		f.Add(uint8(1), id, []byte(b))
	}
	for _, q := range []string{"offset=1&count=2", "offset=4", "enabled=false", "active=true&suspended=false", "name=HOOK%202",
		"eventTypes=order.paid", "eventTypes=invoice.sent,order.created", "eventTypes=invoice.sent&eventTypes=order.paid",
		"offset=-1&count=0&enabled=maybe&limit=5", "count=1001", "cursor=x&count=x", "eventTypes=*", "eventTypes=%00", "%zz"} {
		f.Add(uint8(2), q, []byte(nil))
		f.Add(uint8(3), q, []byte(nil))
	}
	for _, loc := range []string{id, "wh_nope", "", "list", "%00", "a/unsuspend"} {
		f.Add(uint8(4), loc, []byte(nil))
		f.Add(uint8(5), loc, []byte(nil))
	}

	f.Fuzz(func(t *testing.T, op uint8, arg string, body []byte) {
		method, target, rawQuery := "POST", base+"/webhooks", ""
		switch op % 6 {
		case 1:
			method, target = "PATCH", base+"/webhooks/"+url.PathEscape(arg)
		case 2:
			method, target, rawQuery = "GET", base+"/webhooks/list", arg
		case 3:
			method, target, rawQuery = "GET", base+"/diverted", arg
		case 4:
			method, target = "GET", base+"/webhooks/"+url.PathEscape(arg)
		case 5:
			method, target = "PATCH", base+"/webhooks/"+url.PathEscape(arg)+"/unsuspend"
		}
		if !dialecttest.WireSafe(rawQuery, true) {
			t.Skip("not sendable")
		}
		before, err := s.Webhooks("acme")
		if err != nil {
			t.Fatal(err)
		}
		rec := s.Serve(method, target, rawQuery, key, body)
		s.CheckFuzzed(t, "acme", before, rec, nativeShape, fmt.Sprintf("%s %s?%s %q", method, target, rawQuery, body))
	})
}
