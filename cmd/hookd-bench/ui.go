package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Scenario u: the dashboard's pages on a store of --backlog messages (one
// million by default). The store is filled through the API as a platform
// would (9 events in 10 delivered, 1 in 10 to a webhook whose receiver
// fails, max_retries 0: failed), then every page is fetched uiRounds times
// in a signed-in browser session; the table reports each page's median,
// p95 and slowest answer. The target is 100 ms for every page.

const uiRounds = 20

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// uiClient is a signed-in dashboard session.
type uiClient struct {
	base string
	hc   *http.Client
	csrf string // the session's, read from its first page
}

func signInUI(ctx context.Context, base, token string) (*uiClient, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c := &uiClient{base: base, hc: hc}
	body, _, err := c.get(ctx, "/ui/")
	if err != nil {
		return nil, err
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		return nil, fmt.Errorf("sign-in form without a CSRF token")
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/ui/login",
		strings.NewReader(url.Values{"csrf": {m[1]}, "token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("sign in: %s", res.Status)
	}
	return c, nil
}

func (c *uiClient) get(ctx context.Context, path string) (string, time.Duration, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	start := time.Now()
	res, err := c.hc.Do(req)
	if err != nil {
		return "", 0, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	d := time.Since(start)
	if err != nil {
		return "", 0, err
	}
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusSeeOther {
		return "", d, fmt.Errorf("GET %s: %s", path, res.Status)
	}
	return string(b), d, nil
}

// post sends a form of the session (its CSRF token added) and times the
// answer; a 200 is what a preview answers.
func (c *uiClient) post(ctx context.Context, path string, form url.Values) (string, time.Duration, error) {
	form.Set("csrf", c.csrf)
	req, _ := http.NewRequestWithContext(ctx, "POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	start := time.Now()
	res, err := c.hc.Do(req)
	if err != nil {
		return "", 0, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	d := time.Since(start)
	if err != nil {
		return "", 0, err
	}
	if res.StatusCode != http.StatusOK {
		return "", d, fmt.Errorf("POST %s: %s", path, res.Status)
	}
	return string(b), d, nil
}

var firstID = regexp.MustCompile(`/messages/(msg_[0-9a-z]+)"`)

func (b *bench) scenarioU(ctx context.Context, e *env, r *scenarioResult) error {
	n := b.cfg.backlog
	ok := b.rcv.addSink("u-ok", sinkOK)
	bad := b.rcv.addSink("u-bad", sinkDead)
	okID, err := e.createWebhook(ctx, webhook("u-ok", ok.url, "u.ok"))
	if err != nil {
		return err
	}
	spec := webhook("u-bad", bad.url, "u.bad")
	spec["max_retries"] = 0
	badID, err := e.createWebhook(ctx, spec)
	if err != nil {
		return err
	}
	b.logf("  u: filling the store with %d messages", n)
	nBad := n / 10
	start := time.Now()
	pubOK := publishBatches(ctx, e, b.pad, false, b.cfg.batchClients, b.batches("u.ok", n-nBad, b.cfg.batchSize))
	pubBad := publishBatches(ctx, e, b.pad, false, b.cfg.batchClients, b.batches("u.bad", nBad, b.cfg.batchSize))
	accepted := pubOK.Accepted + pubBad.Accepted
	r.extra("fill_publish_rate_per_s", rate(accepted, time.Since(start)))
	lastN, lastProgress, lastLog := int64(-1), time.Now(), time.Now()
	for ctx.Err() == nil && e.h.alive() {
		got := ok.attempts.Load() + bad.attempts.Load()
		if got >= int64(accepted) {
			break
		}
		if got != lastN {
			lastN, lastProgress = got, time.Now()
		} else if time.Since(lastProgress) > b.cfg.stall {
			return fmt.Errorf("no delivery for %s at %d of %d", b.cfg.stall, got, accepted)
		}
		if time.Since(lastLog) >= 15*time.Second {
			b.logf("  u: %d/%d delivered", got, accepted)
			lastLog = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.extra("fill_seconds", time.Since(start).Seconds())
	r.extra("messages", float64(accepted))
	b.logf("  u: %d messages stored and attempted in %.0fs; timing pages", accepted, time.Since(start).Seconds())

	c, err := signInUI(ctx, e.h.base, e.api.token)
	if err != nil {
		return err
	}
	root, err := signInUI(ctx, e.h.base, e.h.token)
	if err != nil {
		return err
	}
	t := "/ui/t/" + e.tenant
	list, _, err := c.get(ctx, t+"/messages?state=failed")
	if err != nil {
		return err
	}
	if m := csrfField.FindStringSubmatch(list); m != nil {
		c.csrf = m[1]
	}
	msg := ""
	if m := firstID.FindStringSubmatch(list); m != nil {
		msg = m[1]
	}
	pages := []struct {
		name, path string
		c          *uiClient
	}{
		{"overview (root, all tenants)", "/ui/", root},
		{"tenant overview", t + "/", c},
		{"webhooks", t + "/webhooks", c},
		{"webhook detail", t + "/webhooks/" + okID, c},
		{"messages, 24 h", t + "/messages", c},
		{"messages, all time", t + "/messages?window=all", c},
		{"messages, failed", t + "/messages?state=failed&window=all", c},
		{"messages, of a webhook", t + "/messages?webhook_id=" + badID, c},
		{"messages, event type (scan-bounded)", t + "/messages?event_type=u.bad", c},
		{"messages, retrying (no match)", t + "/messages?state=retrying&window=all", c},
		{"messages, live fragment", t + "/messages?fragment=rows", c},
		{"message detail", t + "/messages/" + msg, c},
		{"events", t + "/events", c},
		{"events, type (scan-bounded)", t + "/events?type=u.bad", c},
		{"API keys", t + "/keys", c},
		{"portal links", t + "/portal-links", c},
		// The previews of bulk actions (POST, nothing changes): retry all
		// failed messages reads messages_failed up to the cap (10 000+);
		// resolve all of the window looks for open messages among the
		// delivered ones, the worst case of a bulk action's search.
		{"bulk preview: retry all failed", "POST " + t + "/messages/bulk?op=retry&scope=filter&state=failed&window=all", c},
		{"bulk preview: resolve all, 24 h", "POST " + t + "/messages/bulk?op=resolve&scope=filter&window=24h", c},
	}
	b.logf("  u: %-40s %8s %8s %8s", "page", "p50 ms", "p95 ms", "max ms")
	worst := 0.0
	for _, p := range pages {
		var ds []float64
		for range uiRounds {
			var d time.Duration
			var err error
			if path, ok := strings.CutPrefix(p.path, "POST "); ok {
				u, _ := url.Parse(path)
				_, d, err = p.c.post(ctx, u.Path, u.Query())
			} else {
				_, d, err = p.c.get(ctx, p.path)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			ds = append(ds, float64(d.Microseconds())/1000)
		}
		slices.Sort(ds)
		p50, p95, mx := ds[len(ds)/2], ds[len(ds)*95/100], ds[len(ds)-1]
		worst = max(worst, p95)
		b.logf("  u: %-40s %8.1f %8.1f %8.1f", p.name, p50, p95, mx)
		key := strings.NewReplacer(" ", "_", ",", "", "(", "", ")", "", "-", "_").Replace(p.name)
		r.extra("page_"+key+"_p50_ms", p50)
		r.extra("page_"+key+"_p95_ms", p95)
	}
	r.extra("worst_page_p95_ms", worst)
	if worst >= 100 {
		r.note("a page took %.0f ms at p95: over the 100 ms target", worst)
	}
	return nil
}
