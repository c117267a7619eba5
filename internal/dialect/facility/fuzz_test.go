package facility_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/dialect"
	"github.com/hookd/hookd/internal/dialect/dialecttest"
	"github.com/hookd/hookd/internal/dialect/facility"
)

// nestShape checks an error answer against NestJS's as the dialect writes
// it: JSON with the status as statusCode and a message, a 400's a list of
// the seed's messages, none empty.
func nestShape(status int, h http.Header, body []byte) error {
	if ct := h.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("content type %q", ct)
	}
	var a struct {
		Message    any
		StatusCode int
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return err
	}
	if a.StatusCode != status {
		return fmt.Errorf("statusCode %d", a.StatusCode)
	}
	switch m := a.Message.(type) {
	case string:
		if m == "" || status == http.StatusBadRequest {
			return errors.New("want a message (a list of them for a 400)")
		}
	case []any:
		if len(m) == 0 {
			return errors.New("an empty list of messages")
		}
		for _, v := range m {
			if s, _ := v.(string); s == "" {
				return errors.New("a message that is no text")
			}
		}
	default:
		return errors.New("no message")
	}
	return nil
}

// FuzzRequest sends arbitrary bodies and path ids to the dialect over a
// real store: never a 5xx, every error NestJS's, nothing stored by a
// refused request, only valid, storable webhooks by an accepted one.
func FuzzRequest(f *testing.F) {
	s := dialecttest.Start(f, dialecttest.Options{NoEngine: true, HTTPSOnly: true,
		Dialects: []func(dialect.Env) dialect.API{func(e dialect.Env) dialect.API { return facility.New(e) }}})
	s.Tenant("acme")
	key := s.Key("acme", hookd.ScopeAdmin)
	base := s.Do("POST", path, key, map[string]any{"url": "https://exemple.com/webhook", "events": []string{"all"}}).Want(f, 201).Str("data.id")

	for _, b := range []string{
		`{"url": "https://exemple.com/webhook", "events": ["facility.creation.accepted", "facility.user-connection.accepted"],
		"secrets": ["sDV1aKqitCLClI12m7UPFbAAvZfZquJw", "mryefgHPBVHJwux0o3BYW7hPM0BZlcCa"]}`,
		`{"url": "https://exemple.com/all", "events": ["all"]}`,
		`{"url": 5, "events": "all", "secrets": "s"}`,
		`{"url": "http://exemple.com/webhook", "events": ["all", "nope", 3], "secrets": ["a", "b", "c"], "x": null}`,
		`{"url": "https://user:pw@exemple.com/", "events": [], "secrets": [1, "whsec_!"]}`,
		`{"url": "ftp://exemple.com/", "events": ["all", "all"], "secrets": null}`,
		`{"url": "https://exemple.com/", "events": [`, `["all"]`, ``, `{}`, "{\"url\": \"\xff\"}",
	} {
		f.Add(uint8(0), "", []byte(b))
	}
	for _, id := range []string{"", base, "wh_nope", "x/y", "%00"} {
		f.Add(uint8(1), id, []byte(nil))
		f.Add(uint8(2), id, []byte(nil))
	}

	f.Fuzz(func(t *testing.T, op uint8, id string, body []byte) {
		method, target := "POST", path
		switch op % 3 {
		case 1:
			method, target = "GET", path+"/"+url.PathEscape(id)
		case 2:
			if id == base {
				t.Skip("the webhook every other input reads")
			}
			method, target = "DELETE", path+"/"+url.PathEscape(id)
		}
		before, err := s.Webhooks("acme")
		if err != nil {
			t.Fatal(err)
		}
		rec := s.Serve(method, target, "", key, body)
		s.CheckFuzzed(t, "acme", before, rec, nestShape, fmt.Sprintf("%s %s %q", method, target, body))
	})
}
