package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/httpapi"
	"github.com/hookd/hookd/internal/netguard"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/ui"
)

// The browser tests drive Debian's chromium (package chromium, installed by
// .ci/run) headless against a real hookd stack on loopback: SQLite store,
// delivery engine, API and dashboard. Without chromium they do not run and
// say so loudly; under CI (CI=true) that is a failure.

const rootToken = "root-token-for-browser-tests"

// chromiumPath finds the browser, or ends the test loudly.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("HOOKD_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	msg := "THE BROWSER TESTS DID NOT RUN: no chromium found (apt-get install chromium, or set HOOKD_CHROMIUM)"
	fmt.Fprintln(os.Stderr, "\n*** "+msg+" ***")
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// stack is hookd on loopback with a receiver whose answers the test sets.
type stack struct {
	url    string
	db     *sqlite.DB
	status atomic.Int64 // the receiver's answer
	recv   *httptest.Server
}

func newStack(t *testing.T) *stack {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"))
	if err != nil {
		t.Fatal(err)
	}
	st := &stack{db: db}
	st.status.Store(200)
	st.recv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		code := int(st.status.Load())
		w.WriteHeader(code)
		if code >= 300 {
			fmt.Fprint(w, `{"error":"database unavailable","retry":true}`)
		} else {
			fmt.Fprint(w, `{"received":true}`)
		}
	}))
	policy := &netguard.Policy{AllowHTTP: true, AllowPrivate: true}
	disp := delivery.New(delivery.Config{Store: db, Policy: policy, RetrySchedule: []time.Duration{time.Hour}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- disp.Run(ctx) }()
	api := &httpapi.Server{Store: db, Targets: policy, RootTokenHash: hookd.HashToken(rootToken), Deliverer: disp}
	api.UI = (&ui.Server{Store: db, Targets: policy, RootTokenHash: api.RootTokenHash, Deliverer: disp, Dev: true}).Handler()
	srv := httptest.NewServer(api.Handler())
	st.url = srv.URL
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		st.recv.Close()
		db.Close()
	})
	return st
}

// api calls the REST API with the root token or a key.
func (st *stack) api(t *testing.T, method, path, token string, body any) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, st.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %v", method, path, res.StatusCode, out)
	}
	return out
}

// apiStatus calls the API and wants status, with no body to read.
func (st *stack) apiStatus(t *testing.T, method, path, token string, status int) {
	t.Helper()
	req, _ := http.NewRequest(method, st.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != status {
		t.Fatalf("%s %s: %d, want %d", method, path, res.StatusCode, status)
	}
}

// browser starts chromium for the test, with Accept-Language lang.
func browser(t *testing.T, lang string) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1360, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Accept-Language": lang}}); err != nil {
		t.Fatalf("set Accept-Language: %v", err)
	}
	return ctx
}

// do runs steps with a generous deadline, failing the test with where the
// browser was.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s (at %s): %v", what, loc, err)
	}
}

// get runs one action that returns a value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func css(s string) chromedp.CSS { return chromedp.CSS(s) }

// shot writes a screenshot when HOOKD_SCREENSHOTS names a directory (make
// screenshots).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("HOOKD_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func signIn(t *testing.T, ctx context.Context, base, token string) {
	t.Helper()
	do(t, ctx, "sign in",
		chromedp.Navigate(base+"/ui/"),
		chromedp.WaitVisible(css(`#token`)),
		chromedp.SendKeys(css(`#token`), token),
		chromedp.Submit(css(`#token`)),
		chromedp.WaitVisible(css(`header .who`)),
	)
}

const evil = `"><img src=x onerror=window.pwned=1><script>window.pwned=2</script>`

func TestBrowser(t *testing.T) {
	st := newStack(t)
	ctx := browser(t, "en-GB,en;q=0.9")
	base := st.url

	st.api(t, "POST", "/v1/tenants", rootToken, map[string]any{"id": "acme", "name": "Acme Property GmbH"})
	st.api(t, "POST", "/v1/tenants", rootToken, map[string]any{"id": "globex", "name": "Globex Facilities"})
	acme := st.api(t, "POST", "/v1/tenants/acme/keys", rootToken, map[string]any{"name": "erp", "scopes": []string{"admin"}})["token"].(string)
	globex := st.api(t, "POST", "/v1/tenants/globex/keys", rootToken, map[string]any{"name": "ops", "scopes": []string{"admin"}})["token"].(string)

	// A wrong token re-shows the form with the reason.
	do(t, ctx, "wrong token",
		chromedp.Navigate(base+"/ui/"),
		chromedp.SendKeys(css(`#token`), "hk_wrong"),
		chromedp.Submit(css(`#token`)),
		chromedp.WaitVisible(css(`#token-error`)),
	)
	signIn(t, ctx, base, acme)

	// Create a webhook with an invalid URL: the API's message beside the
	// field, the field marked invalid.
	do(t, ctx, "invalid webhook",
		chromedp.Navigate(base+"/ui/t/acme/webhooks/new"),
		chromedp.WaitVisible(css(`#w-name`)),
		chromedp.SendKeys(css(`#w-name`), "Property sync "+evil),
		chromedp.SendKeys(css(`#w-url`), "ftp://example.com/hook"),
		chromedp.SetValue(css(`#w-max_retries`), "0"),
		chromedp.SetValue(css(`#w-event_types`), "Unit.*\nbad type!"),
		chromedp.Submit(css(`#w-name`)),
		chromedp.WaitVisible(css(`#w-url-error`)),
	)
	urlErr := get(t, ctx, "url error", chromedp.Text(css(`#w-url-error`)))
	invalid := get(t, ctx, "aria-invalid", chromedp.AttributeValue(css(`#w-url`), "aria-invalid"))
	described := get(t, ctx, "aria-describedby", chromedp.AttributeValue(css(`#w-url`), "aria-describedby"))
	if !strings.Contains(urlErr, "must be") || invalid.Value != "true" || !strings.Contains(described.Value, "w-url-error") {
		t.Fatalf("url error = %q, aria-invalid = %q, aria-describedby = %q", urlErr, invalid.Value, described.Value)
	}
	if typesErr := get(t, ctx, "event type error", chromedp.Text(css(`#w-event_types-error`))); !strings.Contains(typesErr, "event_types[1]") {
		t.Fatalf("event types error = %q", typesErr)
	}
	shot(t, ctx, "webhook-form-errors")

	// Fix it: the webhook is made and its page shows the name as text.
	do(t, ctx, "fix webhook",
		chromedp.SetValue(css(`#w-url`), st.recv.URL+"/hooks/acme"),
		chromedp.SetValue(css(`#w-event_types`), "*"),
		chromedp.Submit(css(`#w-name`)),
		chromedp.WaitVisible(css(`.flash`)),
	)
	if title := get(t, ctx, "title", chromedp.Text(css(`h1`))); !strings.Contains(title, evil) {
		t.Fatalf("webhook title = %q, want the name as text", title)
	}

	// Publish through the API; the messages page shows the message become
	// successful without a reload.
	do(t, ctx, "messages page",
		chromedp.Navigate(base+"/ui/t/acme/messages"),
		chromedp.WaitVisible(css(`.filters`)),
	)
	get(t, ctx, "mark the document", chromedp.Evaluate[int](`window.__sameDocument = 1`))
	st.api(t, "POST", "/v1/tenants/acme/events", acme, map[string]any{"type": "Unit.Updated",
		"payload": map[string]any{"unit": 17, "note": evil}, "group": "property-12"})
	do(t, ctx, "live update", chromedp.WaitVisible(css(`#rows .st-successful`)))
	if same := get(t, ctx, "same document", chromedp.Evaluate[int](`window.__sameDocument || 0`)); same != 1 {
		t.Fatal("the page was reloaded to show the update")
	}

	// Open it: its attempt, the payload as text.
	do(t, ctx, "message page",
		chromedp.Click(css(`#rows a.mono`)),
		chromedp.WaitVisible(css(`ol.attempts`)),
	)
	attempts := get(t, ctx, "attempts", chromedp.TextContent(css(`ol.attempts`)))
	payload := get(t, ctx, "payload", chromedp.Text(css(`pre.payload`)))
	if !strings.Contains(attempts, "#1") || !strings.Contains(attempts, "200") || !strings.Contains(payload, `onerror=window.pwned=1`) {
		t.Fatalf("attempts %q, payload %q", attempts, payload)
	}

	// A failing one (max_retries 0: failed at once), then retried with the
	// receiver healthy again: the page updates by itself.
	st.status.Store(500)
	st.api(t, "POST", "/v1/tenants/acme/events", acme, map[string]any{"type": "Invoice.Paid", "payload": map[string]any{"invoice": 4711}})
	do(t, ctx, "failed message",
		chromedp.Navigate(base+"/ui/t/acme/messages?state=failed"),
		chromedp.WaitVisible(css(`#rows .st-failed`)),
		chromedp.Click(css(`#rows a.mono`)),
		chromedp.WaitVisible(css(`ol.attempts .st-failed`)),
	)
	st.status.Store(200)
	do(t, ctx, "retry",
		chromedp.Click(css(`form[action$="/retry"] button`)),
		chromedp.WaitVisible(css(`.flash`)),
		chromedp.WaitVisible(css(`#live .st-successful`)),
	)
	if pwned := get(t, ctx, "no script ran", chromedp.Evaluate[string](`typeof window.pwned`)); pwned != "undefined" {
		t.Fatalf("a payload's script ran: window.pwned is %s", pwned)
	}

	// A request without the CSRF token is refused.
	status := get(t, ctx, "csrf", chromedp.Evaluate[int](
		`fetch(location.pathname + "/retry", {method: "POST", body: new URLSearchParams({x: "1"})}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if status != 403 {
		t.Fatalf("POST without CSRF token = %d, want 403", status)
	}

	// Another tenant's key finds nothing of the first.
	do(t, ctx, "sign out", chromedp.Click(css(`form[action="/ui/logout"] button`)), chromedp.WaitVisible(css(`#token`)))
	signIn(t, ctx, base, globex)
	do(t, ctx, "other tenant", chromedp.Navigate(base+"/ui/t/acme/webhooks"), chromedp.WaitVisible(css(`main`)))
	if body := get(t, ctx, "other tenant's page", chromedp.Text(css(`main`))); !strings.Contains(body, "Not found") || strings.Contains(body, "Property sync") {
		t.Fatalf("globex on acme's webhooks: %q", body)
	}
	do(t, ctx, "own list", chromedp.Navigate(base+"/ui/t/globex/messages?window=all"), chromedp.WaitVisible(css(`main`)))
	if body := get(t, ctx, "own list", chromedp.Text(css(`main`))); strings.Contains(body, "Unit.Updated") || strings.Contains(body, "Invoice.Paid") {
		t.Fatalf("globex sees acme's messages: %q", body)
	}
}

// In German the form shows the API's messages from the message catalogue
// in German, beside their fields.
func TestBrowserGermanMessages(t *testing.T) {
	st := newStack(t)
	ctx := browser(t, "de-DE,de;q=0.9,en;q=0.5")
	base := st.url
	st.api(t, "POST", "/v1/tenants", rootToken, map[string]any{"id": "acme", "name": "Acme"})
	key := st.api(t, "POST", "/v1/tenants/acme/keys", rootToken, map[string]any{"name": "erp", "scopes": []string{"admin"}})["token"].(string)
	signIn(t, ctx, base, key)
	do(t, ctx, "invalid webhook",
		chromedp.Navigate(base+"/ui/t/acme/webhooks/new"),
		chromedp.WaitVisible(css(`#w-name`)),
		chromedp.SendKeys(css(`#w-name`), "Sync"),
		chromedp.SendKeys(css(`#w-url`), "not-a-url"),
		chromedp.SetValue(css(`#w-event_types`), "Unit.*"),
		chromedp.Submit(css(`#w-name`)),
		chromedp.WaitVisible(css(`#w-url-error`)),
	)
	if got := get(t, ctx, "url error", chromedp.Text(css(`#w-url-error`))); !strings.Contains(got, "muss eine absolute http- oder https-URL sein") {
		t.Fatalf("url error = %q, want the catalogue's German", got)
	}
}

// waitAPI polls the API until cond holds for the answer of path (a minute
// at most: the machine may be loaded).
func (st *stack) waitAPI(t *testing.T, path, token string, cond func(map[string]any) bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if cond(st.api(t, "GET", path, token, nil)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: condition not met within a minute", path)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func count(n int) func(map[string]any) bool {
	return func(m map[string]any) bool { d, _ := m["data"].([]any); return len(d) == n }
}

// Bulk actions ask first with the count and then act on exactly what they
// said; a portal link is shown once, opens a read-only session that sees
// no bulk buttons and is refused when it posts anyway, and revoking the
// link ends that session.
func TestBrowserBulkAndPortalLinks(t *testing.T) {
	st := newStack(t)
	base := st.url
	st.api(t, "POST", "/v1/tenants", rootToken, map[string]any{"id": "acme", "name": "Acme"})
	admin := st.api(t, "POST", "/v1/tenants/acme/keys", rootToken, map[string]any{"name": "ops", "scopes": []string{"admin"}})["token"].(string)
	st.api(t, "POST", "/v1/tenants/acme/webhooks", admin, map[string]any{"name": "CRM", "url": st.recv.URL + "/crm",
		"event_types": []string{"*"}, "max_retries": 0})
	st.status.Store(500)
	for i := range 3 {
		st.api(t, "POST", "/v1/tenants/acme/events", admin, map[string]any{"type": "Unit.Updated", "payload": map[string]any{"unit": i}})
	}
	st.waitAPI(t, "/v1/tenants/acme/messages?state=failed", admin, count(3))

	ctx := browser(t, "en-GB,en;q=0.9")
	signIn(t, ctx, base, admin)
	do(t, ctx, "failed messages",
		chromedp.Navigate(base+"/ui/t/acme/messages?state=failed"),
		chromedp.WaitVisible(css(`#bulk`)),
		chromedp.WaitVisible(css(`#rows .st-failed`)),
	)
	// Nothing ticked: the buttons are off and say why.
	if dis := get(t, ctx, "buttons off", chromedp.Evaluate[bool](`document.querySelector('#bulk button[value="retry"]').disabled`)); !dis {
		t.Fatal("bulk retry is enabled with no row selected")
	}
	// Tick two rows, ask to retry them: the count first, nothing changed.
	do(t, ctx, "select two",
		chromedp.Click(css(`#rows tr:nth-child(1) input[name="id"]`)),
		chromedp.Click(css(`#rows tr:nth-child(2) input[name="id"]`)),
		chromedp.Click(css(`#bulk button[value="retry"]`)),
		chromedp.WaitVisible(css(`#h-bulk`)),
	)
	if h := get(t, ctx, "confirm", chromedp.Text(css(`#h-bulk`))); h != "Retry 2 messages?" {
		t.Fatalf("confirmation = %q, want Retry 2 messages?", h)
	}
	st.waitAPI(t, "/v1/tenants/acme/messages?state=failed", admin, count(3)) // nothing changed yet
	st.status.Store(200)
	do(t, ctx, "confirm retry",
		chromedp.Click(css(`.confirm button.primary`)),
		chromedp.WaitVisible(css(`.flash`)),
	)
	if flash := get(t, ctx, "flash", chromedp.Text(css(`.flash`))); !strings.HasPrefix(flash, "2 messages queued") {
		t.Fatalf("flash = %q", flash)
	}
	st.waitAPI(t, "/v1/tenants/acme/messages?state=successful", admin, count(2))
	st.waitAPI(t, "/v1/tenants/acme/messages?state=failed", admin, count(1))

	// All that match the filter (state failed): the one left, resolved.
	do(t, ctx, "resolve all matching",
		chromedp.Navigate(base+"/ui/t/acme/messages?state=failed"),
		chromedp.WaitVisible(css(`#bulk`)),
		chromedp.Click(css(`#bulk input[value="filter"]`)),
		chromedp.Click(css(`#bulk button[value="resolve"]`)),
		chromedp.WaitVisible(css(`#h-bulk`)),
	)
	if h := get(t, ctx, "confirm", chromedp.Text(css(`#h-bulk`))); h != "Mark 1 message resolved?" {
		t.Fatalf("confirmation = %q", h)
	}
	do(t, ctx, "confirm resolve", chromedp.Click(css(`.confirm button.primary`)), chromedp.WaitVisible(css(`.flash`)))
	st.waitAPI(t, "/v1/tenants/acme/messages?state=resolved", admin, count(1))

	// A read-only portal link: shown once, with a copy button.
	do(t, ctx, "make a portal link",
		chromedp.Navigate(base+"/ui/t/acme/portal-links"),
		chromedp.WaitVisible(css(`#l-label`)),
		chromedp.SendKeys(css(`#l-label`), "Mieterin <b>Schulz</b>"),
		chromedp.Click(css(`#l-ro`)),
		chromedp.Submit(css(`#l-label`)),
		chromedp.WaitVisible(css(`#new-link-url`)),
		chromedp.Click(css(`.token button.copy`)),
		chromedp.WaitVisible(css(`#toast.show`)),
	)
	link := get(t, ctx, "link", chromedp.Text(css(`#new-link-url`)))
	if !strings.HasPrefix(link, base+"/ui/portal/") {
		t.Fatalf("portal link = %q", link)
	}
	if label := get(t, ctx, "label", chromedp.Text(css(`table.list tbody th`))); !strings.Contains(label, "Mieterin <b>Schulz</b>") {
		t.Fatalf("label = %q, want it as text", label)
	}
	// Reloading shows the link in the list, never its URL again.
	do(t, ctx, "reload", chromedp.Navigate(base+"/ui/t/acme/portal-links"), chromedp.WaitVisible(css(`table.list`)))
	if body := get(t, ctx, "list", chromedp.Text(css(`main`))); strings.Contains(body, link) || !strings.Contains(body, "unused") {
		t.Fatalf("portal links page after reload: %q", body)
	}

	// The customer opens it: a read-only session, no bulk bar, no row
	// checkboxes; a bulk POST with the session's own CSRF token is
	// refused.
	cust := browser(t, "en-GB,en;q=0.9")
	do(t, cust, "open the link", chromedp.Navigate(link), chromedp.WaitVisible(css(`header .who`)))
	do(t, cust, "customer's messages", chromedp.Navigate(base+"/ui/t/acme/messages?window=all"), chromedp.WaitVisible(css(`#rows`)))
	if n := get(t, cust, "bulk controls", chromedp.Evaluate[int](`document.querySelectorAll('#bulk, input[form="bulk"], [data-select-all]').length`)); n != 0 {
		t.Fatalf("a read-only session sees %d bulk controls", n)
	}
	status := get(t, cust, "bulk POST", chromedp.Evaluate[int](`fetch("/ui/t/acme/messages/bulk", {method: "POST", body: new URLSearchParams({
		csrf: document.querySelector('form[action="/ui/logout"] input[name="csrf"]').value, op: "abort", scope: "filter", window: "all"})}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if status != 403 {
		t.Fatalf("read-only bulk POST = %d, want 403", status)
	}
	st.waitAPI(t, "/v1/tenants/acme/messages?state=aborted", admin, count(0))

	// The admin sees it used, and revokes it: the customer's session ends.
	do(t, ctx, "links page", chromedp.Navigate(base+"/ui/t/acme/portal-links"), chromedp.WaitVisible(css(`.badge.link-used`)))
	get(t, ctx, "accept the confirmation", chromedp.Evaluate[bool](`window.confirm = () => true, true`))
	do(t, ctx, "revoke",
		chromedp.Click(css(`form[action$="/revoke"] button`)),
		chromedp.WaitVisible(css(`.flash`)),
		chromedp.WaitVisible(css(`.badge.link-revoked`)),
	)
	do(t, cust, "session ended", chromedp.Navigate(base+"/ui/t/acme/messages"), chromedp.WaitVisible(css(`#token`)))
	do(t, cust, "link used up", chromedp.Navigate(link), chromedp.WaitVisible(css(`#token`)))
	if body := get(t, cust, "link page", chromedp.Text(css(`main`))); !strings.Contains(body, "not valid") {
		t.Fatalf("revoked link page: %q", body)
	}
}
