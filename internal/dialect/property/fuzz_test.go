package property_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/dialect/dialecttest"
)

// problemShape checks an error answer against ASP.NET's problem document
// as the dialect writes it: its status, a type and a title, and for a 400
// either the errors of the fields (each with a message) or a detail.
func problemShape(status int, h http.Header, body []byte) error {
	if ct := h.Get("Content-Type"); ct != "application/problem+json" {
		return fmt.Errorf("content type %q", ct)
	}
	var p struct {
		Type, Title, Detail string
		Status              int
		Errors              map[string][]string
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return err
	}
	if p.Status != status || p.Type == "" || p.Title == "" {
		return errors.New("want its status, a type and a title")
	}
	if status == http.StatusBadRequest && len(p.Errors) == 0 && p.Detail == "" {
		return errors.New("a 400 names no field and has no detail")
	}
	for f, msgs := range p.Errors {
		if len(msgs) == 0 || msgs[0] == "" {
			return fmt.Errorf("%s without a message", f)
		}
	}
	return nil
}

// The operations fuzzed: the bodies of a registration and of a search,
// the query of a registration's messages, and the id of a path.
var fuzzOps = []struct{ method, path string }{
	{"POST", reg},
	{"POST", reg + "/search"},
	{"GET", reg + "/1/webhooks"},
	{"GET", reg + "/"}, // + the query, as the id
	{"DELETE", reg + "/"},
}

// FuzzRequest sends arbitrary bodies, queries, api-versions and
// Accept-Languages to the dialect over a real store: never a 5xx, every
// error an ASP.NET problem, nothing stored by a refused request, and only
// valid, storable registrations by an accepted one.
func FuzzRequest(f *testing.F) {
	s := dialecttest.Start(f, dialecttest.Options{Dialects: dialects(), NoEngine: true})
	s.Tenant("acme")
	key := s.Key("acme", hookd.ScopeAdmin)
	s.Do("POST", reg, key, body("https://erp.example.com/hooks", 42)).Want(f, 201)
	s.Do("POST", "/v1/tenants/acme/events", key, map[string]any{"type": "Unit.Updated", "payload": 1,
		"attributes": map[string]string{"party_id": "42"}}).Want(f, 202)

	ok, _ := json.Marshal(body("https://erp.example.com/other", 7))
	for _, b := range []string{
		string(ok),
		`{"partyId": 42, "targetUrl": "https://ERP.example.com:443/hooks", "enabledEvents": [{"type": 2, "entityName": "Unit"}], "isGrouped": false, "continueOnFailure": true, "targetAuthorization": {"authorizationType": 1, "username": "u", "password": "p"}}`,
		`{"partyId": 0, "targetUrl": "http://erp.example.com/hooks", "enabledEvents": [{"type": 7, "entityName": "Unit"}, {"type": "1"}, 5], "isGrouped": "yes", "targetAuthorization": {"authorizationType": 2}, "x": 1}`,
		`{"partyId": 2147483648, "targetUrl": "https://erp.example.com/\u0000", "enabledEvents": [{"type": 1e0, "entityName": "Ünit name"}]}`,
		`{"partyId": 1.5, "enabledEvents": [], "targetAuthorization": {"username": "", "password": ""}}`,
		`{"targetUrl": "HTTPS://ERP.example.com:443/hooks", "pageSize": 2, "pageNumber": 2, "partyId": 42}`,
		`{"pageNumber": 0, "pageSize": 101, "partyId": "1", "x": 1}`,
		`{"partyId": `, `[1]`, ``, "{\"targetUrl\": \"\xff\"}", `null`,
	} {
		f.Add(uint8(0), "", []byte(b), "", "")
		f.Add(uint8(1), "", []byte(b), "de-DE", "1.0")
	}
	for _, q := range []string{"state=3&state=4&pageNumber=1&pageSize=5", "state=8&pageSize=0&offset=2",
		"pageNumber=2147483647&pageSize=100", "state=%zz", "pageSize=1&pageSize=2", "st%00ate=1"} {
		f.Add(uint8(2), q, []byte(nil), "en-US", "2")
	}
	for _, id := range []string{"1", "99", "abc", "-1", "1/webhooks", "9223372036854775808"} {
		f.Add(uint8(3), id, []byte(nil), "de;q=0.5, en", "")
		f.Add(uint8(4), id, []byte(nil), "*", "3")
	}

	f.Fuzz(func(t *testing.T, op uint8, query string, body []byte, lang, version string) {
		if !dialecttest.WireSafe(query, true) || !dialecttest.WireSafe(lang, false) || !dialecttest.WireSafe(version, false) {
			t.Skip("not sendable")
		}
		o := fuzzOps[int(op)%len(fuzzOps)]
		path, rawQuery := o.path, query
		if o.path == reg+"/" {
			if n, err := strconv.ParseInt(query, 10, 64); err == nil && n == 1 && o.method == "DELETE" {
				t.Skip("the registration every other input reads")
			}
			path, rawQuery = path+url.PathEscape(query), ""
		}
		before, err := s.Webhooks("acme")
		if err != nil {
			t.Fatal(err)
		}
		rec := s.Serve(o.method, path, rawQuery, key, body, "Accept-Language", lang, "api-version", version)
		s.CheckFuzzed(t, "acme", before, rec, problemShape, fmt.Sprintf("%s %s?%s %q", o.method, path, rawQuery, body))
	})
}
