package cli_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hookd/hookd/internal/hookdtest"
)

// newer is a hookd newer than this CLI: a real one behind a proxy that
// adds a field the CLI does not know to every JSON object it answers
// (and to each item of a list), and notes the last body it sent.
type newer struct {
	URL  string
	mu   sync.Mutex
	last []byte
}

// unknownField is the field the newer hookd adds.
const unknownField = "added_by_a_newer_hookd"

func newNewer(t *testing.T) *newer {
	t.Helper()
	srv := hookdtest.Start(t, hookdtest.Options{})
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	n := &newer{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(res *http.Response) error {
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return err
		}
		if res.StatusCode/100 == 2 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			b = addField(t, b)
		}
		n.mu.Lock()
		n.last = b
		n.mu.Unlock()
		res.Body = io.NopCloser(bytes.NewReader(b))
		res.ContentLength = int64(len(b))
		res.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	n.URL = ps.URL
	return n
}

// addField adds unknownField to a JSON object, and to each object of its
// data array.
func addField(t *testing.T, b []byte) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Errorf("an answer that is not a JSON object: %s", b)
		return b
	}
	m[unknownField] = json.RawMessage(`"yes"`)
	var items []map[string]json.RawMessage
	if json.Unmarshal(m["data"], &items) == nil {
		for _, it := range items {
			it[unknownField] = json.RawMessage(`"yes"`)
		}
		m["data"], _ = json.Marshal(items)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// lastBody returns the body of the last answer sent.
func (n *newer) lastBody() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return string(n.last)
}

// --json prints the server's answer as it was sent, byte for byte: a
// field the CLI does not know is not lost on the way, as it would be
// through the client's types.
func TestJSONIsTheServersAnswer(t *testing.T) {
	t.Parallel()
	srv := newNewer(t)
	root := newShell(t, srv.URL, hookdtest.RootToken)
	asSent := func(sh *shell, args ...string) string {
		t.Helper()
		out := sh.ok(append(args, "--json"))
		if want := srv.lastBody(); out != want {
			t.Fatalf("hookd %s --json printed\n%s\nthe server sent\n%s", strings.Join(args, " "), out, want)
		}
		if !strings.Contains(out, unknownField) {
			t.Fatalf("hookd %s --json lost the field the CLI does not know:\n%s", strings.Join(args, " "), out)
		}
		return out
	}
	asSent(root, "tenants", "create", "--id", "acme")
	asSent(root, "tenants", "get", "acme")
	token := root.value("keys", "create", "--tenant", "acme", "--scope", "admin", "--field", "token")
	// With a key the CLI asks whoami for the tenant first: what it prints
	// is still the answer of the verb's own call.
	sh := newShell(t, srv.URL, token)
	asSent(sh, "whoami")
	asSent(sh, "keys", "list")
	id1 := asSent(sh, "webhooks", "create", "--name", "one", "--url", "http://127.0.0.1:1/one", "--event-type", "Unit.*")
	asSent(sh, "webhooks", "create", "--name", "two", "--url", "http://127.0.0.1:1/two", "--event-type", "Unit.*")
	var w struct{ ID string }
	if err := json.Unmarshal([]byte(id1), &w); err != nil || w.ID == "" {
		t.Fatalf("webhooks create --json: %q (%v)", id1, err)
	}
	asSent(sh, "webhooks", "get", w.ID)
	asSent(sh, "webhooks", "patch", w.ID, "--description", "changed")
	asSent(sh, "webhooks", "secrets", w.ID)
	asSent(sh, "webhooks", "list", "--limit", "1")
	asSent(sh, "events", "publish", "--type", "Unit.Created", "--payload", `{"id": 1}`)
	asSent(sh, "events", "batch", "--data", `[{"type": "Unit.Updated"}]`)
	asSent(sh, "events", "list")
	asSent(sh, "portal-links", "create")

	// --all: one page of every page's items, each as it was sent.
	out := sh.ok(a("webhooks", "list", "--limit", "1", "--all", "--json"))
	var all struct {
		Data []map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatalf("webhooks list --all --json: %v\n%s", err, out)
	}
	if len(all.Data) != 2 || all.Data[0]["name"] != "one" || all.Data[1]["name"] != "two" {
		t.Fatalf("webhooks list --all --json = %s, want webhooks one and two", out)
	}
	for _, it := range all.Data {
		if it[unknownField] != "yes" {
			t.Fatalf("webhooks list --all --json lost the field the CLI does not know: %s", out)
		}
	}

	// An answer without a body prints nothing.
	if out := sh.ok(a("webhooks", "delete", w.ID, "--json")); out != "" {
		t.Fatalf("webhooks delete --json printed %q", out)
	}
}
