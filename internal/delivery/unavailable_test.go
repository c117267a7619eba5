package delivery_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/tmpfs"
)

// syncLog is a log destination safe for the engine's goroutines.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *syncLog) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// An outcome that cannot be recorded because the disk is full is kept and
// recorded once there is room, however long that takes: the message ends
// successful after one delivery, without waiting for its lease to end and
// being delivered again.
func TestOutcomeWaitsForRoom(t *testing.T) {
	ctx := context.Background()
	dir := tmpfs.Mount(t, 8<<20)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "hookd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, id := range []string{tenant, "other"} {
		if err := db.CreateTenant(ctx, &hookd.Tenant{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	started, answer := make(chan struct{}, 1), make(chan struct{})
	rc := newReceiver(t, func(*received, http.ResponseWriter) int {
		started <- struct{}{}
		<-answer
		return 200
	})
	w := MustWebhook(t, db, rc.URL)
	logs := &syncLog{}
	StartDispatcher(t, delivery.Config{Store: db, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	MustPublish(t, db, "", 1)
	<-started // the attempt is in flight

	// Fill the disk, then what room the WAL has left, with events of a
	// tenant without webhooks.
	filler := tmpfs.Fill(t, dir)
	pad := hookd.EventInput{Type: "Pad", Payload: json.RawMessage(`"` + strings.Repeat("x", 4000) + `"`)}
	for i := 0; ; i++ {
		_, err := db.Publish(ctx, "other", []hookd.EventInput{pad}, time.Now())
		if hookd.ErrorCode(err) == hookd.EUNAVAILABLE {
			break
		} else if err != nil || i == 5000 {
			t.Fatalf("publish %d on a full disk: %v", i, err)
		}
	}
	close(answer)
	// More failed tries than the engine gives an error of another kind.
	waitFor(t, 30*time.Second, "six failed tries to record the outcome", func() bool {
		return strings.Count(logs.String(), "delivery: record attempts") >= 6
	})
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	// Well within the message's lease (a minute).
	ms := waitStates(t, db, w.ID, 1, hookd.StateSuccessful, 20*time.Second)
	if n := rc.count(); n != 1 {
		t.Errorf("delivered %d times, want once", n)
	}
	if atts, err := db.ListAttempts(ctx, tenant, ms[0].ID, hookd.Page{}); err != nil || len(atts) != 1 {
		t.Errorf("attempts: %d, %v; want 1", len(atts), err)
	}
}
