package client_test

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/hookdtest"
)

func TestErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hookdtest.Options{MaxPayloadBytes: 1024})
	c := e.admin
	hook := &client.WebhookInput{Name: "a", URL: "http://127.0.0.1:9/a", EventTypes: []string{"*"}}
	first, err := c.Webhooks.Create(ctx(t), tenant, hook)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("401", func(t *testing.T) {
		_, err := mustClient(t, e.srv.URL, "hk_not-a-key").Webhooks.List(ctx(t), tenant, nil)
		ae := client.AsError(err)
		if !client.IsUnauthorized(err) || ae.Code() != client.ProblemUnauthorized || ae.Type != client.ProblemTypeBase+"unauthorized" || ae.Title == "" {
			t.Fatalf("err = %#v", err)
		}
		if _, err := mustClient(t, e.srv.URL, "").Webhooks.List(ctx(t), tenant, nil); !client.IsUnauthorized(err) {
			t.Fatalf("no token: %v", err)
		}
	})
	t.Run("403", func(t *testing.T) {
		k, err := c.Keys.Create(ctx(t), tenant, &client.KeyInput{Scopes: []client.Scope{client.ScopeEventsRead}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = mustClient(t, e.srv.URL, k.Token).Webhooks.Create(ctx(t), tenant, hook)
		if !client.IsForbidden(err) || client.AsError(err).Code() != client.ProblemForbidden {
			t.Fatalf("err = %v, want 403", err)
		}
	})
	t.Run("404", func(t *testing.T) {
		for name, call := range map[string]func() error{
			"webhook": func() error { _, err := c.Webhooks.Get(ctx(t), tenant, "wh_nope"); return err },
			"message": func() error { _, err := c.Messages.Retry(ctx(t), tenant, "msg_nope"); return err },
			"event":   func() error { _, err := c.Events.Get(ctx(t), tenant, "evt_nope"); return err },
			"tenant":  func() error { _, err := e.root.Tenants.Get(ctx(t), "nope"); return err },
			// A key of acme on another tenant's path sees nothing there.
			"other tenant": func() error { _, err := c.Webhooks.List(ctx(t), "globex", nil); return err },
		} {
			if err := call(); !client.IsNotFound(err) || client.AsError(err).Code() != client.ProblemNotFound {
				t.Errorf("%s: err = %v, want 404", name, err)
			}
		}
	})
	t.Run("409 existing_id", func(t *testing.T) {
		_, err := c.Webhooks.Create(ctx(t), tenant, &client.WebhookInput{Name: "b", URL: "HTTP://127.0.0.1:9/a", EventTypes: []string{"*"}})
		if !client.IsConflict(err) || client.AsError(err).ExistingID != first.ID {
			t.Fatalf("same URL: err = %#v, want 409 with existing_id %s", err, first.ID)
		}
		_, err = e.root.Tenants.Create(ctx(t), &client.TenantInput{ID: tenant})
		if !client.IsConflict(err) || client.AsError(err).ExistingID != tenant {
			t.Fatalf("same tenant: err = %#v", err)
		}
		if _, err := c.Events.Publish(ctx(t), tenant, &client.EventInput{Type: "A", IdempotencyKey: "k1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Events.Publish(ctx(t), tenant, &client.EventInput{Type: "B", IdempotencyKey: "k1"}); !client.IsConflict(err) {
			t.Fatalf("same key, other body: %v", err)
		}
	})
	t.Run("400 field errors", func(t *testing.T) {
		_, err := c.Webhooks.Create(ctx(t), tenant, &client.WebhookInput{URL: "ftp://example.com", TimeoutMS: 10,
			EventTypes: []string{"Unit.*", "bad type"}, MaxRetries: client.Ptr(11)})
		ae := client.AsError(err)
		if !client.IsValidation(err) || ae.Code() != client.ProblemValidation {
			t.Fatalf("err = %v, want 400", err)
		}
		var fields []string
		for _, f := range ae.Errors {
			fields = append(fields, f.Field)
		}
		slices.Sort(fields)
		if want := []string{"event_types[1]", "max_retries", "name", "timeout_ms", "url"}; !slices.Equal(fields, want) {
			t.Fatalf("fields = %q, want %q", fields, want)
		}
		if ae.FieldMessage("name") != "is required" || !strings.Contains(err.Error(), "timeout_ms: must be between") {
			t.Fatalf("messages: %v", err)
		}
		// In German, with the same fields.
		_, err = mustClient(t, e.srv.URL, e.key.Token, client.WithAcceptLanguage("de-DE")).Webhooks.Create(ctx(t), tenant, &client.WebhookInput{URL: "http://127.0.0.1:9/de", EventTypes: []string{"*"}})
		if ae := client.AsError(err); !client.IsValidation(err) || ae.Code() != client.ProblemValidation || ae.FieldMessage("name") == "" || ae.FieldMessage("name") == "is required" {
			t.Fatalf("German: %v", err)
		}
		// A query parameter is named the same way.
		_, err = c.Messages.List(ctx(t), tenant, &client.MessageListOptions{States: []client.MessageState{"lost"}})
		if ae := client.AsError(err); !client.IsValidation(err) || len(ae.Errors) != 1 || ae.Errors[0].Field != "state" {
			t.Fatalf("bad state filter: %v", err)
		}
		// The recover window's since is required: a zero one is not sent.
		_, err = c.Webhooks.Recover(ctx(t), tenant, first.ID, &client.RecoverInput{})
		if ae := client.AsError(err); !client.IsValidation(err) || ae.FieldMessage("since") != "is required" {
			t.Fatalf("recover without since: %v", err)
		}
	})
	t.Run("413", func(t *testing.T) {
		_, err := c.Events.Publish(ctx(t), tenant, &client.EventInput{Type: "A", Payload: strings.Repeat("x", 2000)})
		if !client.IsTooLarge(err) || client.AsError(err).FieldMessage("payload") == "" {
			t.Fatalf("err = %v, want 413 naming payload", err)
		}
	})
	t.Run("empty id", func(t *testing.T) {
		for _, id := range []string{"", ".", ".."} {
			if _, err := c.Webhooks.Get(ctx(t), tenant, id); err == nil || client.AsError(err) != nil {
				t.Errorf("Get(%q): err = %v, want an error before any request", id, err)
			}
		}
	})
	t.Run("503 without an engine", func(t *testing.T) {
		noEngine := newEnv(t, hookdtest.Options{NoEngine: true})
		w, err := noEngine.admin.Webhooks.Create(ctx(t), tenant, hook)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := noEngine.admin.Webhooks.Test(ctx(t), tenant, w.ID, nil); !client.IsUnavailable(err) {
			t.Fatalf("test call: %v, want 503", err)
		}
	})
}

// TestErrorNotAProblem: an answer that is not hookd's problem document (a
// proxy's page) still becomes an *Error with its status.
func TestErrorNotAProblem(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html>\n  <body>upstream   down</body></html>"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c := mustClient(t, "http://"+ln.Addr().String(), "x")
	_, err = c.Tenants.Get(ctx(t), "acme")
	ae := client.AsError(err)
	if ae == nil || ae.Status != 502 || ae.Title != "Bad Gateway" || ae.Detail != "<html> <body>upstream down</body></html>" || ae.Code() != "" {
		t.Fatalf("err = %#v", err)
	}
	if got, want := err.Error(), "hookd: GET /v1/tenants/acme: 502 Bad Gateway: <html> <body>upstream down</body></html>"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	var target *client.Error
	if !errors.As(err, &target) {
		t.Fatal("errors.As")
	}
	// A 2xx that is not JSON is an error of its own, not an *Error.
	srv2 := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) })}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv2.Serve(ln2)
	t.Cleanup(func() { srv2.Close() })
	_, err = mustClient(t, "http://"+ln2.Addr().String(), "x").Tenants.Get(ctx(t), "acme")
	var se *json.SyntaxError
	if err == nil || client.AsError(err) != nil || !errors.As(err, &se) {
		t.Fatalf("non-JSON 200: err = %v", err)
	}
}

// TestNewerServer: fields the client does not know yet are ignored, so a
// client keeps working against a newer server.
func TestNewerServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"wh_1","name":"n","max_in_flight":4,"portal":{"url":"x"},"retry_schedule":null,"failure_handling":{"suspend_after":"1h","notify":true}}`))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	w, err := mustClient(t, "http://"+ln.Addr().String(), "x").Webhooks.Get(ctx(t), "acme", "wh_1")
	if err != nil || w.ID != "wh_1" || w.Name != "n" || w.FailureHandling.SuspendAfter.String() != "1h" {
		t.Fatalf("webhook = %+v, %v", w, err)
	}
}
