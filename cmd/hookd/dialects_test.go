package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/dialect"
	"github.com/hookd/hookd/internal/httpapi"
	"github.com/hookd/hookd/internal/sqlite"
)

// A dialect that is on answers at its paths in its own shape; one that
// is off answers the native 404 there, its OpenAPI document included.
func TestDialectMounts(t *testing.T) {
	t.Parallel()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	api := &httpapi.Server{Store: store, RootTokenHash: hookd.HashToken("root")}
	api.Mounts = dialectMounts([]string{"property", "device"}, dialect.Env{Store: store, Host: api})
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	get := func(path string) (int, map[string]any) {
		t.Helper()
		res, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		return res.StatusCode, m
	}
	native := func(m map[string]any) bool {
		s, _ := m["type"].(string)
		return strings.HasPrefix(s, httpapi.ProblemTypeBase)
	}

	if st, m := get("/api/webhook-registrations/1"); st != http.StatusUnauthorized || native(m) || m["title"] != "Unauthorized" {
		t.Errorf("property on: %d %v", st, m)
	}
	if st, m := get("/webhooks/1"); st != http.StatusUnauthorized || m["error"] != "Log In" {
		t.Errorf("device on: %d %v", st, m)
	}
	for _, path := range []string{"/api/v2/public/webhooks/user", "/event/acme/webhooks/list", "/openapi/facility.json", "/openapi/enterprise.json"} {
		if st, m := get(path); st != http.StatusNotFound || !native(m) {
			t.Errorf("%s, its dialect off: %d %v", path, st, m)
		}
	}
	for _, path := range []string{"/openapi/property.json", "/openapi/device.json", "/openapi.json"} {
		if st, m := get(path); st != http.StatusOK || m["openapi"] == nil {
			t.Errorf("%s: %d", path, st)
		}
	}
	// Every dialect can be mounted beside the others and /v1.
	all := &httpapi.Server{Store: store}
	all.Mounts = dialectMounts(dialect.Names, dialect.Env{Store: store, Host: all})
	all.Handler()
}
