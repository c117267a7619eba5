package httpapi_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/tmpfs"
)

// syncLog is a log destination safe for the server's goroutines.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *syncLog) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// A full disk is an answer: a write that cannot be stored is 503 with
// Retry-After and a problem saying why, logged once rather than per
// request; readiness says so too; reads go on; and once there is room
// writes succeed and readiness comes back.
func TestFullDiskAnswers503(t *testing.T) {
	t.Parallel()
	dir := tmpfs.Mount(t, 4<<20)
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "hookd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var mu sync.Mutex
	now := time.Now()
	db.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	logs := &syncLog{}
	e := newEnvOn(t, db)
	e.api.Logger = slog.New(slog.NewTextHandler(logs, nil))
	e.mustTenant("acme")
	e.mustWebhook("acme", hook("a"))
	ev := map[string]any{"type": "Unit.Created", "payload": map[string]any{"pad": strings.Repeat("x", 900)}}
	first := e.do("POST", "/v1/tenants/acme/events", rootToken, ev).want(t, 202).str("id")

	filler := tmpfs.Fill(t, dir)
	var r *resp
	for i := 0; i < 2000; i++ {
		if r = e.do("POST", "/v1/tenants/acme/events", rootToken, ev); r.Status != 202 {
			break
		}
	}
	r.want(t, 503)
	if got := r.Header.Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After = %q, want 5", got)
	}
	if got := r.str("type"); got != "https://hookd.dev/errors/unavailable" {
		t.Errorf("type = %q", got)
	}
	if d := r.str("detail"); !strings.Contains(d, "disk is full") || !strings.Contains(d, "nothing was stored") {
		t.Errorf("detail = %q, want it to say that the disk is full and nothing was stored", d)
	}
	for range 5 {
		e.do("POST", "/v1/tenants/acme/events", rootToken, ev).want(t, 503)
	}
	if n := strings.Count(logs.String(), "store unavailable"); n != 1 {
		t.Errorf("%d log lines for 6 answers 503, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "database or disk is full") {
		t.Errorf("the log does not name the database's error:\n%s", logs.String())
	}
	ready := e.do("GET", "/readyz", "", nil).want(t, 503)
	if d := ready.str("detail"); !strings.Contains(d, "writes fail since") || !strings.Contains(d, "disk is full") {
		t.Errorf("readyz detail = %q", d)
	}
	if ready.Header.Get("Retry-After") == "" {
		t.Error("readyz 503 without Retry-After")
	}
	e.do("GET", "/v1/tenants/acme/events/"+first, rootToken, nil).want(t, 200)
	e.do("GET", "/v1/tenants/acme/events", rootToken, nil).want(t, 200)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	e.do("POST", "/v1/tenants/acme/events", rootToken, ev).want(t, 202)
	e.do("GET", "/readyz", "", nil).want(t, 503) // a write failed a moment ago
	mu.Lock()
	now = now.Add(10 * time.Second)
	mu.Unlock()
	e.do("GET", "/readyz", "", nil).want(t, 200)
}
