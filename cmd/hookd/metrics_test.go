package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var metricName = regexp.MustCompile(`hookd_[a-z_]+`)

// documentedMetrics returns the metrics docs/metrics.md describes (the
// first column of its tables).
func documentedMetrics(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if m := regexp.MustCompile("^\\| `(hookd_[a-z_]+)` \\|").FindStringSubmatch(line); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// Every metric a running hookd serves is described in docs/metrics.md,
// every one described exists, and the Grafana dashboard uses only those.
func TestMetricsDocumented(t *testing.T) {
	t.Parallel()
	cfg, err := parseServeConfig([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--root-token", "root",
		"--metrics-per-tenant"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard, ready) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(60 * time.Second):
		t.Fatal("hookd did not start")
	}
	call := func(method, path, body string) string {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer root")
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		return string(b)
	}
	call("POST", "/v1/tenants", `{"id": "acme"}`)
	call("POST", "/v1/tenants/acme/events", `{"type": "Unit.Updated"}`) // a per-tenant series
	scrape := call("GET", "/metrics", "")

	var served []string
	for _, line := range strings.Split(scrape, "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			served = append(served, strings.Fields(name)[0])
		}
	}
	documented := documentedMetrics(t)
	// Series that appear with their first use: an attempt.
	later := []string{"hookd_tenant_delivery_attempts_total"}
	for _, m := range served {
		if !slices.Contains(documented, m) {
			t.Errorf("%s is served but not described in docs/metrics.md", m)
		}
	}
	for _, m := range documented {
		if !slices.Contains(served, m) && !slices.Contains(later, m) {
			t.Errorf("docs/metrics.md describes %s, which hookd does not serve", m)
		}
	}

	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	used := map[string]bool{}
	for _, m := range metricName.FindAllString(string(b), -1) {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(m, suffix); ok && slices.Contains(documented, base) {
				m = base
			}
		}
		used[m] = true
	}
	for m := range used {
		if !slices.Contains(documented, m) {
			t.Errorf("the dashboard uses %s, which is no metric of hookd's", m)
		}
	}
	for _, m := range []string{"hookd_messages", "hookd_oldest_due_message_age_seconds", "hookd_delivery_attempts_total"} {
		if !used[m] {
			t.Errorf("the dashboard does not show %s", m)
		}
	}
}
