package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hookd/hookd/internal/cli"
	"github.com/hookd/hookd/internal/hookdtest"
	"github.com/hookd/hookd/verify"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is an output written by a command while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// shell runs commands against one server with an environment.
type shell struct {
	t   *testing.T
	env map[string]string
}

func newShell(t *testing.T, server, token string) *shell {
	return &shell{t: t, env: map[string]string{"HOOKD_SERVER": server, "HOOKD_TOKEN": token}}
}

// result is what a command did.
type result struct {
	out, err string
	code     int
}

func (s *shell) run(args ...string) result {
	s.t.Helper()
	var out, errOut syncBuffer
	ctx, cancel := context.WithTimeout(s.t.Context(), time.Minute)
	defer cancel()
	code := cli.Run(ctx, args, cli.Env{Stdin: strings.NewReader(s.env["STDIN"]), Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string { return s.env[k] }})
	return result{out.String(), errOut.String(), code}
}

// ok runs a command that must succeed and returns its standard output,
// which must hold each of want.
func (s *shell) ok(args []string, want ...string) string {
	s.t.Helper()
	r := s.run(args...)
	if r.code != 0 {
		s.t.Fatalf("hookd %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	for _, w := range want {
		if !strings.Contains(r.out, w) {
			s.t.Fatalf("hookd %s: stdout lacks %q:\n%s", strings.Join(args, " "), w, r.out)
		}
	}
	return r.out
}

// value runs a command with --field and returns the one value printed.
func (s *shell) value(args ...string) string {
	s.t.Helper()
	return strings.TrimSpace(s.ok(args))
}

// jsonOf runs a command with --json and decodes its answer.
func (s *shell) jsonOf(args ...string) map[string]any {
	s.t.Helper()
	var m map[string]any
	out := s.ok(append(args, "--json"))
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		s.t.Fatalf("hookd %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
	return m
}

func a(args ...string) []string { return args }

// receiver is a loopback webhook target that verifies each delivery with
// secret and answers status (200 at first).
type receiver struct {
	URL    string
	status atomic.Int64
	mu     sync.Mutex
	got    []verify.Envelope
	bad    int
}

func newReceiver(t *testing.T, secrets ...string) *receiver {
	t.Helper()
	r := &receiver{}
	r.status.Store(200)
	if len(secrets) == 0 {
		secrets = []string{"whsec_dW5zZXQgdW5zZXQgdW5zZXQgdW5zZXQ="}
	}
	v, err := verify.New(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		env, err := v.Parse(req.Header, body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			r.bad++
		} else {
			r.got = append(r.got, *env)
		}
		w.WriteHeader(int(r.status.Load()))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	r.URL = "http://" + ln.Addr().String() + "/hook"
	return r
}

func (r *receiver) envelopes() []verify.Envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]verify.Envelope(nil), r.got...)
}

// waitFor polls cond until it holds, failing after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEveryVerb walks every noun and verb against a real hookd, in
// tables and in JSON.
func TestEveryVerb(t *testing.T) {
	t.Parallel()
	srv := hookdtest.Start(t, hookdtest.Options{})
	root := newShell(t, srv.URL, hookdtest.RootToken)

	// Tenants (root token only).
	root.ok(a("tenants", "create", "--id", "acme", "--name", "Acme GmbH"), "id:", "acme", "Acme GmbH")
	gen := root.jsonOf("tenants", "create")
	genID, _ := gen["id"].(string)
	if !strings.HasPrefix(genID, "ten_") {
		t.Fatalf("generated tenant: %v", gen)
	}
	out := root.ok(a("tenants", "list"), "ID", "NAME", "CREATED", "Acme GmbH", genID)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || strings.Index(lines[1], "Acme") != strings.Index(lines[0], "NAME") {
		t.Fatalf("tenants list: not an aligned table of 2:\n%s", out)
	}
	if got := root.value("tenants", "list", "--limit", "1", "--all", "--field", "id"); got != "acme\n"+genID && got != genID+"\nacme" {
		t.Fatalf("tenants list --all --field id = %q", got)
	}
	page := root.jsonOf("tenants", "list", "--limit", "1")
	if data, _ := page["data"].([]any); len(data) != 1 || page["next_cursor"] == "" {
		t.Fatalf("tenants list --limit 1 --json = %v", page)
	}
	root.ok(a("tenants", "get", "acme"), "Acme GmbH")
	root.ok(a("tenants", "delete", genID), "Deleted tenant "+genID)

	// A key of acme; with it, the tenant goes without saying.
	token := root.value("keys", "create", "--tenant", "acme", "--name", "erp", "--scope", "admin", "--field", "token")
	if !strings.HasPrefix(token, "hk_") {
		t.Fatalf("token = %q", token)
	}
	sh := newShell(t, srv.URL, token)
	sh.ok(a("whoami"), "tenant_id:", "acme", "admin")
	root.ok(a("whoami"), "root token")
	reader := sh.jsonOf("keys", "create", "--name", "reader", "--scope", "events:read,messages:read", "--scope", "webhooks:read")
	if sc, _ := reader["scopes"].([]any); len(sc) != 3 {
		t.Fatalf("key scopes = %v", reader)
	}
	sh.ok(a("keys", "list"), "erp", "reader", "events:read,messages:read,webhooks:read")
	sh.ok(a("keys", "delete", reader["id"].(string)), "Revoked key")

	// Webhooks.
	rc := newReceiver(t, "whsec_c2VjcmV0IG9mIHRoZSBjbGkgdGVzdHMgaGVyZQ==")
	wh := sh.jsonOf("webhooks", "create", "--name", "erp", "--url", rc.URL, "--event-type", "Unit.*", "--grouped",
		"--secret", "whsec_c2VjcmV0IG9mIHRoZSBjbGkgdGVzdHMgaGVyZQ==", "--header", "X-Tenant: acme", "--filter", "party=42",
		"--retry-schedule", "100ms,200ms", "--max-retries", "1", "--auth", "basic:u:p", "--timeout-ms", "5000",
		"--suspend-after", "1h", "--rate-limit", "50", "--max-in-flight", "4", "--description", "the ERP", "--continue-on-failure")
	id := wh["id"].(string)
	if wh["grouped"] != true || wh["max_retries"] != 1.0 || wh["rate_limit"] != 50.0 || wh["max_in_flight"] != 4.0 ||
		wh["description"] != "the ERP" || wh["continue_on_failure"] != true || wh["timeout_ms"] != 5000.0 {
		t.Fatalf("created webhook = %v", wh)
	}
	sh.ok(a("webhooks", "list"), "ID", "NO.", "EVENT TYPES", id, "erp", "Unit.*", "active")
	sh.ok(a("webhooks", "list", "--active=false"), "ID")
	if got := sh.value("webhooks", "list", "--event-type", "Unit.Updated", "--name", "ER", "--field", "id"); got != id {
		t.Fatalf("webhooks list filtered = %q", got)
	}
	sh.ok(a("webhooks", "get", id), "url:", rc.URL, "grouped:", "true", "X-Tenant")
	sh.ok(a("webhooks", "update", id, "--name", "erp", "--url", rc.URL, "--event-type", "Unit.*,Lease.*",
		"--filter", "party=42"), "max_retries:", "6")
	w := sh.jsonOf("webhooks", "patch", id, "--enabled=false", "--add-event-type", "Deal.*", "--remove-event-type", "Lease.*",
		"--max-retries", "0", "--retry-schedule", "100ms", "--rate-limit", "9", "--add-header", "X-A: 1")
	if w["enabled"] != false || w["max_retries"] != 0.0 || w["rate_limit"] != 9.0 || len(w["event_types"].([]any)) != 2 {
		t.Fatalf("patched webhook = %v", w)
	}
	w = sh.jsonOf("webhooks", "patch", id, "--enabled", "--reset", "rate_limit", "--remove-header", "X-A", "--filter", "party=42")
	// The server's answer as sent: a reset rate limit reads as null
	// (docs/API.md), not as the 0 of the client's type.
	if w["enabled"] != true || w["rate_limit"] != nil || len(w["headers"].(map[string]any)) != 0 {
		t.Fatalf("patched webhook = %v", w)
	}
	sh.ok(a("webhooks", "patch", id, "--data", `{"description": "from data", "auth": null}`), "description:", "from data", "auth:", "-")
	sh.ok(a("webhooks", "test", id, "--type", "ping", "--payload", `{"x": 1}`, "--header", "X-Test: 1"), "success:", "true", "trigger:", "test")
	if got := sh.value("webhooks", "secrets", id); got != "whsec_c2VjcmV0IG9mIHRoZSBjbGkgdGVzdHMgaGVyZQ==" {
		t.Fatalf("secrets = %q", got)
	}
	rotated := sh.jsonOf("webhooks", "rotate", id, "--secret", "whsec_c2VjcmV0IG9mIHRoZSBjbGkgdGVzdHMgaGVyZTI=")
	if s, _ := rotated["secrets"].([]any); len(s) != 2 {
		t.Fatalf("rotate = %v", rotated)
	}
	sh.ok(a("webhooks", "unsuspend", id), "suspended:", "false")

	// Events and their messages.
	evt := sh.value("events", "publish", "--type", "Unit.Updated", "--payload", `{"id": 17}`, "--group", "g-1",
		"--attr", "party=42", "--idempotency-key", "k-1", "--field", "id")
	if dup := sh.jsonOf("events", "publish", "--data", `{"type": "Unit.Updated", "payload": {"id":17}, "group": "g-1", "attributes": {"party": "42"}, "idempotency_key": "k-1"}`); dup["duplicate"] != true || dup["id"] != evt {
		t.Fatalf("publish again = %v, want a duplicate of %s", dup, evt)
	}
	sh.env["STDIN"] = `[{"type": "Lease.Signed"}, {"type": "Unit.Created", "attributes": {"party": "42"}}]`
	sh.ok(a("events", "batch", "--data", "@-"), "ID", "MESSAGES", "DUPLICATE", "no")
	sh.ok(a("events", "list", "--type", "Unit.Updated", "--since", "1h"), evt, "g-1", `{"id":17}`)
	sh.ok(a("events", "get", evt), "payload:", `{"id":17}`, "attributes:")
	msg := sh.value("messages", "list", "--event", evt, "--field", "id")
	waitFor(t, "the message delivered", func() bool { return sh.value("messages", "get", msg, "--field", "state") == "successful" })
	sh.ok(a("messages", "list", "--state", "successful", "--webhook", id, "--event-type", "Unit.Updated"), msg, "successful", "200")
	sh.ok(a("messages", "attempts", msg), "NO.", "TRIGGER", "scheduled", "200", "success")
	if envs := rc.envelopes(); len(envs) < 2 {
		t.Fatalf("the receiver verified %d deliveries", len(envs))
	}

	// Failures: resolve, abort, retry, recover.
	rc.status.Store(500)
	failed := func() string {
		t.Helper()
		e := sh.value("events", "publish", "--type", "Unit.Deleted", "--attr", "party=42", "--field", "id")
		m := sh.value("messages", "list", "--event", e, "--field", "id")
		waitFor(t, "message "+m+" failed", func() bool { return sh.value("messages", "get", m, "--field", "state") == "failed" })
		return m
	}
	sh.ok(a("messages", "resolve", failed()), "state:", "resolved")
	sh.ok(a("messages", "abort", failed()), "state:", "aborted")
	m := failed()
	rc.status.Store(200)
	sh.ok(a("messages", "retry", m), "id:", m)
	waitFor(t, "the retried message delivered", func() bool { return sh.value("messages", "get", m, "--field", "state") == "successful" })
	rc.status.Store(500)
	m = failed()
	rc.status.Store(200)
	sh.ok(a("webhooks", "recover", id, "--since", "1h"), "Queued 1 failed message(s) again.")
	waitFor(t, "the recovered message delivered", func() bool { return sh.value("messages", "get", m, "--field", "state") == "successful" })

	// The event type catalogue, in a tenant of its own.
	root.ok(a("tenants", "create", "--id", "cat"))
	cat := newShell(t, srv.URL, hookdtest.RootToken)
	cat.env["HOOKD_TENANT"] = "cat"
	cat.ok(a("event-types", "create", "--name", "Unit.Updated", "--description", "a unit changed",
		"--schema", `{"type": "object", "required": ["id"]}`), "name:", "Unit.Updated", `{"type":"object","required":["id"]}`)
	cat.ok(a("event-types", "put", "Unit.Deleted", "--description", "gone"), "Declared Unit.Deleted.")
	cat.ok(a("event-types", "put", "Unit.Deleted", "--data", `{"description": "gone for good"}`), "Replaced Unit.Deleted.", "gone for good")
	cat.ok(a("event-types", "patch", "Unit.Updated", "--schema", "null", "--description", "changed"), "schema:", "-", "changed")
	cat.ok(a("event-types", "get", "Unit.Updated"), "changed")
	cat.ok(a("event-types", "delete", "Unit.Deleted"), "Archived Unit.Deleted.")
	cat.ok(a("event-types", "list"), "NAME", "ARCHIVED", "Unit.Updated")
	cat.ok(a("event-types", "list", "--include-archived"), "Unit.Deleted", "yes")
	cat.ok(a("event-types", "delete", "--expunge", "Unit.Deleted"), "Expunged Unit.Deleted.")

	// The rest: portal links, status, deletes.
	sh.ok(a("portal-links", "create", "--read-only", "--expires-in", "1h", "--label", "support desk"), srv.URL+"/ui/portal/", "read only")
	linkID := strings.TrimSpace(sh.ok(a("portal-links", "list", "--field", "id")))
	if !strings.HasPrefix(linkID, "pl_") || strings.Contains(linkID, "\n") {
		t.Fatalf("portal-links list --field id = %q, want one pl_ id", linkID)
	}
	sh.ok(a("portal-links", "list"), "LABEL", "support desk", "unused")
	sh.ok(a("portal-links", "revoke", linkID), "Revoked portal link "+linkID+".")
	sh.ok(a("portal-links", "list"), "revoked")
	sh.ok(a("status"), "is ready")
	sh.ok(a("webhooks", "delete", id), "Deleted webhook "+id)
	if r := sh.run("webhooks", "delete", id, "--json"); r.code != 1 || r.out != "" {
		t.Fatalf("delete again: %+v", r)
	}
	root.ok(a("tenants", "delete", "cat"))
}

// TestErrors: the server's refusals exit 1 with the problem on stderr,
// mistakes in the command line exit 2, help exits 0 on stdout.
func TestErrors(t *testing.T) {
	t.Parallel()
	srv := hookdtest.Start(t, hookdtest.Options{})
	root := newShell(t, srv.URL, hookdtest.RootToken)
	root.ok(a("tenants", "create", "--id", "acme"))
	root.env["HOOKD_TENANT"] = "acme"
	dataFile := filepath.Join(t.TempDir(), "webhook.json")
	if err := os.WriteFile(dataFile, []byte(`{"name": "x", "url": "ftp://nope", "event_types": ["a b"], "timeout_ms": 5}`), 0o600); err != nil {
		t.Fatal(err)
	}
	noToken := newShell(t, srv.URL, "")
	down := newShell(t, "http://127.0.0.1:1", hookdtest.RootToken)
	for _, tt := range []struct {
		sh          *shell
		args        []string
		code        int
		out, errOut []string
	}{
		{root, a("webhooks", "create", "--data", "@"+dataFile), 1, nil,
			[]string{"hookd: 400 Validation failed: 3 fields are invalid\n", "\n  url: ", "\n  event_types[0]: ", "\n  timeout_ms: "}},
		{root, a("webhooks", "get", "wh_nope"), 1, nil, []string{"404 Not found: webhook not found"}},
		{root, a("tenants", "create", "--id", "acme"), 1, nil, []string{"409 Conflict", "existing: acme"}},
		{root, a("messages", "list", "--state", "lost"), 1, nil, []string{"400", "state"}},
		{newShell(t, srv.URL, "hk_nope"), a("tenants", "list"), 1, nil, []string{"401 Unauthorized"}},
		{down, a("tenants", "list"), 1, nil, []string{"connection refused", "Is hookd running at http://127.0.0.1:1?"}},
		{noToken, a("tenants", "list"), 2, nil, []string{"no token: give --token or set HOOKD_TOKEN"}},
		{newShell(t, srv.URL, hookdtest.RootToken), a("webhooks", "list"), 2, nil, []string{"which tenant?"}},
		{root, a("webhooks", "get"), 2, nil, []string{"missing <webhook-id>", "hookd webhooks get --help"}},
		{root, a("webhooks", "get", "a", "b"), 2, nil, []string{`unexpected argument "b"`}},
		{root, a("webhooks", "get", " "), 2, nil, []string{"<webhook-id> may not be empty"}},
		{root, a("webhooks", "list", "--nope"), 2, nil, []string{"flag provided but not defined: -nope"}},
		{root, a("webhooks", "frob"), 2, nil, []string{`unknown verb "frob"`, "Verbs:"}},
		{root, a("webhooks"), 2, nil, []string{"Verbs:"}},
		{root, a("webhooks", "create", "--data", `{"nmae": "x"}`), 2, nil, []string{`--data: json: unknown field "nmae"`}},
		{root, a("webhooks", "create", "--data", "@/no/such/file"), 2, nil, []string{"no such file"}},
		{root, a("events", "publish", "--payload", "{"), 2, nil, []string{"--payload: not valid JSON"}},
		{root, a("events", "publish"), 2, nil, []string{"--type is required"}},
		{root, a("tenants", "get", "acme", "--field", "nope"), 2, nil, []string{`--field "nope": the answer has created_at, id, name`}},
		{root, a("webhooks", "create", "--auth", "digest:x"), 2, nil, []string{`--auth: want "basic:<user>:<password>" or "bearer:<token>"`}},
		{root, a("webhooks", "patch", "wh_x", "--reset", "url"), 2, nil, []string{`--reset "url"`}},
		{root, a("webhooks", "recover", "wh_x"), 2, nil, []string{"--since is required"}},
		{root, a("keys", "create"), 2, nil, []string{"give at least one --scope"}},
		{root, a("listen", "--forward-to", "localhost:3000"), 2, nil, []string{"want an http(s) URL"}},
		{root, a("listen", "--secret", "short"), 2, nil, []string{"--secret must be"}},
		{root, a("listen", "--events", "a b"), 1, nil, []string{"400 Validation failed", "event_type[0]"}},
		{root, a("events", "--help"), 0, []string{"Usage: hookd events <verb>", "publish", "batch", "--json"}, nil},
		{root, a("webhooks", "create", "--help"), 0, []string{"Usage: hookd webhooks create [flags]", "--url string", "--event-type"}, nil},
		{root, a("messages", "attempts", "-h"), 0, []string{"Usage: hookd messages attempts <message-id> [flags]", "--all"}, nil},
		{root, a("listen", "--help"), 0, []string{"Usage: hookd listen [flags]", "--forward-to", "--events"}, nil},
		{root, a("status", "--help"), 0, []string{"--wait"}, nil},
	} {
		r := tt.sh.run(tt.args...)
		name := strings.Join(tt.args, " ")
		if r.code != tt.code {
			t.Errorf("hookd %s: exit %d, want %d\nstdout: %s\nstderr: %s", name, r.code, tt.code, r.out, r.err)
			continue
		}
		for _, c := range []struct {
			stream, got string
			want        []string
		}{{"stdout", r.out, tt.out}, {"stderr", r.err, tt.errOut}} {
			if c.want == nil && c.got != "" {
				t.Errorf("hookd %s: %s = %q, want nothing", name, c.stream, c.got)
			}
			for _, w := range c.want {
				if !strings.Contains(c.got, w) {
					t.Errorf("hookd %s: %s lacks %q:\n%s", name, c.stream, w, c.got)
				}
			}
		}
	}
}

// TestListen: hookd listen forwards the tenant's matching events, signed
// with the session's secret, to a receiver that verifies them, and says
// one line for each with the answer.
func TestListen(t *testing.T) {
	t.Parallel()
	srv := hookdtest.Start(t, hookdtest.Options{})
	root := newShell(t, srv.URL, hookdtest.RootToken)
	root.ok(a("tenants", "create", "--id", "acme"))
	token := root.value("keys", "create", "--tenant", "acme", "--scope", "events:read,events:write", "--field", "token")
	sh := newShell(t, srv.URL, token)
	const secret = "whsec_c2VjcmV0IG9mIHRoZSBsaXN0ZW4gdGVzdA=="
	rc := newReceiver(t, secret)

	ctx, cancel := context.WithCancel(t.Context())
	var out, errOut syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- cli.Run(ctx, a("listen", "--forward-to", rc.URL, "--events", "Unit.*", "--secret", secret),
			cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return sh.env[k] }})
	}()
	defer func() {
		cancel()
		if c := <-code; c != 0 {
			t.Errorf("listen exited %d: %s", c, errOut.String())
		}
	}()
	waitFor(t, "listen ready", func() bool { return strings.Contains(errOut.String(), "Ready!") })
	if want := "Forwarding the events of type Unit.* of tenant acme to " + rc.URL; !strings.Contains(errOut.String(), want) {
		t.Fatalf("listen says %q, want %q", errOut.String(), want)
	}
	sh.value("events", "publish", "--type", "Lease.Signed")
	evt := sh.value("events", "publish", "--type", "Unit.Updated", "--payload", `{"id": 17}`, "--group", "g", "--field", "id")
	waitFor(t, "the forwarded event", func() bool { return len(rc.envelopes()) == 1 })
	env := rc.envelopes()[0]
	if env.ID != evt || env.EventID != evt || env.Type != "Unit.Updated" || env.TenantID != "acme" || env.Group != "g" || string(env.Data) != `{"id":17}` {
		t.Fatalf("forwarded %+v", env)
	}
	waitFor(t, "the line of the event", func() bool { return strings.Contains(out.String(), evt) })
	line := strings.TrimSpace(out.String())
	if !strings.Contains(line, "  Unit.Updated  "+evt+"  → 200 (") || strings.Contains(line, "Lease") {
		t.Fatalf("listen printed %q", line)
	}
	// A receiver's refusal is shown with its reason.
	rc.status.Store(http.StatusBadRequest)
	sh.value("events", "publish", "--type", "Unit.Deleted")
	waitFor(t, "the refused event's line", func() bool { return strings.Contains(out.String(), "→ 400 (") })
	rc.mu.Lock()
	bad := rc.bad
	rc.mu.Unlock()
	if bad != 0 {
		t.Fatalf("%d deliveries failed verification", bad)
	}

	// Without --forward-to it prints the events; --json the bodies.
	var printed syncBuffer
	pctx, pcancel := context.WithCancel(t.Context())
	pcode := make(chan int, 1)
	var perr syncBuffer
	go func() {
		pcode <- cli.Run(pctx, a("listen", "--json"), cli.Env{Stdout: &printed, Stderr: &perr, Getenv: func(k string) string { return sh.env[k] }})
	}()
	waitFor(t, "listen ready", func() bool { return strings.Contains(perr.String(), "Ready! Printing every event of tenant acme") })
	evt = sh.value("events", "publish", "--type", "Any.Thing", "--field", "id")
	waitFor(t, "the printed body", func() bool { return strings.Contains(printed.String(), evt) })
	pcancel()
	if c := <-pcode; c != 0 {
		t.Fatalf("listen exited %d", c)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(printed.String()), &body); err != nil || body["event_id"] != evt || body["type"] != "Any.Thing" {
		t.Fatalf("listen --json printed %q (%v)", printed.String(), err)
	}
}
