package delivery_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/metrics"
)

// op is one step of a fair queue scenario:
//
//	"push T W N [max]"  queue N deliveries of webhook W of tenant T (named W1, W2, …
//	                    in order), with max_in_flight max (default: the server's)
//	"pop M1 M2 …"       the next pops start M1, M2, … and then nothing
//	"pop1 M"            the next pop starts M (more may follow)
//	"done W CODE"       an attempt of W ends: CODE is ok, timeout, refused,
//	                    status (an HTTP error answer) or none (not attempted)
//	"circuit W C"       like done, and the circuit changed to C (opened/closed)
type op string

func TestFairQueue(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		workers int
		ops     []op
	}{
		{"round robin over webhooks", 64, []op{
			"push t a 3", "push t b 3",
			"pop a1 b1 a2 b2 a3 b3",
		}},
		{"round robin over tenants first", 64, []op{
			// Tenant t has two webhooks, u one: u gets every other turn.
			"push t a 2", "push t b 2", "push u c 4",
			"pop a1 c1 b1 c2 a2 c3 b2 c4",
		}},
		{"a new webhook starts with a small window that grows with successes", 64, []op{
			"push t a 10",
			"pop a1 a2 a3 a4",
			"done a ok", "pop a5 a6", // window 5: one freed, one more allowed
			"done a timeout", "pop a7", // a timeout frees its worker, the window stays
		}},
		{"max_in_flight bounds a webhook", 64, []op{
			"push t a 5 2",
			"pop a1 a2",
			"done a ok", "pop a3",
			"done a ok", "done a ok", "pop a4 a5",
		}},
		{"timeouts in a row open the circuit: one probe at a time", 64, []op{
			"push t a 8",
			"pop a1 a2 a3 a4",
			"done a timeout", "done a refused",
			"circuit a opened", // the third in a row
			"pop",              // a4 still runs: nothing more
			"done a timeout", "pop a5", "pop",
			"done a timeout", "pop a6",
			"circuit a closed", // a success closes it
			"pop a7 a8",
		}},
		{"an HTTP answer ends the streak without closing", 64, []op{
			"push t a 9",
			"pop a1 a2 a3 a4",
			"done a timeout", "done a timeout", "done a status", "done a timeout",
			"pop a5 a6 a7 a8", // not open: the window (4) again
			"done a timeout", "circuit a opened",
			"done a status", "done a none", // still open, nothing running
			"pop a9",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runFairOps(t, tc.workers, tc.ops)
		})
	}
}

// runFairOps runs ops on a fresh fair queue with a default max_in_flight
// of 32.
func runFairOps(t *testing.T, workers int, ops []op) {
	t.Helper()
	q := delivery.NewFairQueue(workers, 32)
	now := time.Now()
	far := now.Add(time.Hour)
	for i, o := range ops {
		f := strings.Fields(string(o))
		switch f[0] {
		case "push":
			var n, max int
			fmt.Sscan(f[3], &n)
			if len(f) > 4 {
				fmt.Sscan(f[4], &max)
			}
			for k := 1; k <= n; k++ {
				q.Push(f[1], f[2], fmt.Sprintf("%s%d", f[2], k), max, far, now)
			}
		case "pop":
			var got []string
			for m := q.Pop(); m != ""; m = q.Pop() {
				got = append(got, m)
			}
			if want := f[1:]; strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("op %d %q: popped %v, want %v", i, o, got, want)
			}
		case "pop1":
			if got := q.Pop(); got != f[1] {
				t.Fatalf("op %d %q: popped %q", i, o, got)
			}
		case "done", "circuit":
			code := map[string]string{"ok": "", "timeout": hookd.AttemptErrTimeout, "refused": hookd.AttemptErrRefused,
				"status": hookd.AttemptErrStatus, "none": "none"}
			c := f[2]
			if f[0] == "circuit" {
				c = map[string]string{"opened": "timeout", "closed": "ok", "none": "none"}[f[2]]
			}
			got := q.Done(f[1], code[c], 10*time.Millisecond, now)
			want := ""
			if f[0] == "circuit" && f[2] != "none" {
				want = f[2]
			}
			if got != want {
				t.Fatalf("op %d %q: circuit %q, want %q", i, o, got, want)
			}
		default:
			t.Fatalf("op %d: unknown %q", i, o)
		}
	}
}

// Workers are shared: once a slow webhook holds its share, a free worker
// goes to another webhook first, yet one alone may use every worker.
func TestFairQueueShares(t *testing.T) {
	t.Parallel()
	q := delivery.NewFairQueue(16, 100)
	now := time.Now()
	far := now.Add(time.Hour)
	// A webhook alone grows past its share up to every worker but the
	// reserve (1 of 16): its window starts at 4 and grows with successes.
	for k := range 40 {
		q.Push("t", "a", fmt.Sprint("a", k), 0, far, now)
	}
	for range 12 {
		q.Pop()
		q.Done("a", "", time.Millisecond, now)
	}
	n := 0
	for q.Pop() != "" {
		n++
	}
	if n != 15 {
		t.Fatalf("webhook alone runs %d of 16 workers, want 15 (1 kept for webhooks with nothing running)", n)
	}
	// b arrives: it starts at once on the reserve. Then, as a's attempts
	// end, the free workers go to b while a holds more than its share
	// (16 / 2 = 8), keeping the reserve: the first is kept, since b now
	// runs one.
	for k := range 10 {
		q.Push("t", "b", fmt.Sprint("b", k), 0, far, now)
	}
	got := []string{q.Pop()}
	for range 3 {
		q.Done("a", "", time.Millisecond, now)
		got = append(got, q.Pop())
	}
	if got, want := fmt.Sprintf("%q", got), `["b0" "" "b1" "b2"]`; got != want {
		t.Fatalf("as a's attempts end, the free workers went to %s, want %s", got, want)
	}
}

// A webhook whose pace says a delivery cannot start within its lease
// hands it back, due when its turn is expected; a slow webhook counts
// against the claim window only up to its bound.
func TestFairQueueHandsBackWhatCannotStart(t *testing.T) {
	t.Parallel()
	q := delivery.NewFairQueue(64, 32)
	now := time.Now()
	deadline := now.Add(30 * time.Second)
	for k := 1; k <= 20; k++ {
		q.Push("t", "a", fmt.Sprint("a", k), 0, deadline, now)
	}
	if g := q.GiveBacks(); len(g) != 0 {
		t.Fatalf("handed back %d before anything is known of the webhook's pace", len(g))
	}
	for range 4 {
		q.Pop()
	}
	// Three 3 s timeouts open the circuit: one at a time, 3 s each.
	for range 3 {
		q.Done("a", hookd.AttemptErrTimeout, 3*time.Second, now)
	}
	if got := q.Counted(); got != 2 {
		t.Fatalf("counted %d against the window, want 2 (1 running + 1 of its queue)", got)
	}
	back := q.GiveBacks()
	// a4 runs; a5 starts after it (3 s), a6 after 6 s, …: a5..a13 start
	// within 27 s, a14 at 30 s is not after the deadline, a15.. are.
	if len(back) != 6 || q.Queued() != 10 {
		t.Fatalf("handed back %d, %d queued; want 6 and 10", len(back), q.Queued())
	}
	for _, b := range back {
		var k int
		fmt.Sscanf(b.Msg, "a%d", &k)
		if want := now.Add(time.Duration(k-4) * 3 * time.Second); !b.Due.Equal(want) {
			t.Errorf("%s due in %v, want %v (its turn)", b.Msg, b.Due.Sub(now), want.Sub(now))
		}
	}
}

// hangingReceiver accepts requests and never answers them; it counts
// them.
type hangingReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	count int
}

func newHangingReceiver(t *testing.T) *hangingReceiver {
	hr := &hangingReceiver{}
	stop := make(chan struct{})
	hr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body, so that the server watches the connection and
		// ends r's context when hookd closes it.
		io.Copy(io.Discard, r.Body)
		hr.mu.Lock()
		hr.count++
		hr.mu.Unlock()
		select { // until hookd gives up (timeout_ms) or the test ends
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(hr.Close)
	t.Cleanup(func() { close(stop) }) // first: Close waits for the handlers
	return hr
}

func (hr *hangingReceiver) requests() int {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	return hr.count
}

// A webhook whose receiver never answers, with a backlog, holds at most
// its window of workers, then one at a time once its circuit opens; a
// healthy webhook published behind the backlog is delivered meanwhile,
// and the hanging webhook's messages are still attempted, one after the
// other, without spending a retry while they wait.
func TestHangingWebhookDoesNotHoldUpOthers(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	hang := newHangingReceiver(t)
	ok := newReceiver(t, nil)
	wh := MustWebhook(t, db, hang.URL, func(w *hookd.Webhook) {
		w.EventTypes, w.TimeoutMS, w.MaxRetries = []string{"Slow.*"}, 1000, 0
	})
	wo := MustWebhook(t, db, ok.URL, func(w *hookd.Webhook) { w.EventTypes = []string{"Unit.*"} })
	reg := metrics.NewRegistry()
	d := StartDispatcher(t, delivery.Config{Store: db, Workers: 8, Metrics: reg})
	backlog := make([]hookd.EventInput, 100)
	for i := range backlog {
		backlog[i] = hookd.EventInput{Type: "Slow.Thing", Payload: json.RawMessage(`{}`)}
	}
	if _, err := db.Publish(ctx, tenant, backlog, time.Now()); err != nil {
		t.Fatal(err)
	}
	d.Wake()
	waitFor(t, 10*time.Second, "the hanging receiver's first requests", func() bool { return hang.requests() > 0 })
	const healthy = 20
	for i := range healthy {
		MustPublish(t, db, "", i)
		d.Wake()
	}
	waitStates(t, db, wo.ID, healthy, hookd.StateSuccessful, 30*time.Second)
	// Each hanging attempt takes 1 s. Had the healthy webhook waited for
	// the backlog, 8 workers would have taken about 100 hanging requests
	// first.
	if n := hang.requests(); n > 30 {
		t.Errorf("the healthy webhook was done after %d hanging requests, want it done well before the backlog", n)
	}

	// The hanging webhook's circuit opens and its messages go on being
	// attempted, one at a time: its 4 first attempts (a new webhook's
	// window) and 2 more that started as the first 2 ended overlap; from
	// the 7th on, each starts after the one before ended.
	const first, more = 6, 4
	waitFor(t, 60*time.Second, "the hanging webhook's attempts to go on", func() bool {
		n := 0
		for _, m := range messages(t, db, wh.ID) {
			if m.State == hookd.StateFailed {
				n++
			}
		}
		return n >= first+more
	})
	var atts []*hookd.Attempt
	for _, m := range messages(t, db, wh.ID) {
		switch m.State {
		case hookd.StateFailed:
			a, err := db.ListAttempts(ctx, tenant, m.ID, hookd.Page{Limit: 10})
			if err != nil || len(a) != 1 || a[0].Error != hookd.AttemptErrTimeout {
				t.Fatalf("message %s: attempts %+v, %v; want one timeout", m.ID, a, err)
			}
			atts = append(atts, a[0])
		case hookd.StateCreated:
			if m.AttemptCount != 0 {
				t.Errorf("message %s waits with %d attempts", m.ID, m.AttemptCount)
			}
		default:
			t.Errorf("message %s is %s, want created or failed", m.ID, m.State)
		}
	}
	slices.SortFunc(atts, func(a, b *hookd.Attempt) int { return a.StartedAt.Compare(b.StartedAt) })
	for i := first + 1; i < len(atts); i++ {
		prev := atts[i-1]
		// Times are kept to the millisecond: 2 ms of slack.
		if end := prev.StartedAt.Add(time.Duration(prev.DurationMS-2) * time.Millisecond); atts[i].StartedAt.Before(end) {
			t.Errorf("attempt %d started at %v, before attempt %d ended (%v): more than one at a time",
				i+1, atts[i].StartedAt, i, end)
		}
	}
	var out strings.Builder
	reg.WriteText(&out)
	if !strings.Contains(out.String(), "hookd_delivery_circuits_open 1\n") {
		t.Errorf("metrics do not show the open circuit:\n%s", out.String())
	}
}

// A fast webhook counts its whole queue against the claim window, so the
// claims do not run ahead of it; one not known yet, or slow, only up to
// its bound.
func TestFairQueueCounted(t *testing.T) {
	t.Parallel()
	now := time.Now()
	far := now.Add(time.Hour)
	for _, tc := range []struct {
		name string
		took time.Duration // of the one attempt that ended; 0: none ended
		want int
	}{
		{"unknown", 0, 4 + 4},                   // 4 running, 4 of 16 queued (its window)
		{"fast", 50 * time.Millisecond, 3 + 16}, // 3 running, all 16 queued
		{"slow", 2 * time.Second, 3 + 4},
	} {
		q := delivery.NewFairQueue(64, 32)
		for k := range 20 {
			q.Push("t", "a", fmt.Sprint("a", k), 0, far, now)
		}
		for range 4 {
			q.Pop()
		}
		if tc.took > 0 {
			q.Done("a", hookd.AttemptErrStatus, tc.took, now)
		}
		if got := q.Counted(); got != tc.want {
			t.Errorf("%s: counted %d, want %d", tc.name, got, tc.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

// At debug level each attempt's outcome is logged: webhook, message,
// status, duration and error.
func TestDebugLogsAttempts(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	rc := newReceiver(t, func(*received, http.ResponseWriter) int { return http.StatusTeapot })
	w := MustWebhook(t, db, rc.URL, func(w *hookd.Webhook) { w.MaxRetries = 0 })
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := StartDispatcher(t, delivery.Config{Store: db, Logger: log})
	MustPublish(t, db, "", 1)
	d.Wake()
	ms := waitStates(t, db, w.ID, 1, hookd.StateFailed, 10*time.Second)
	waitFor(t, 5*time.Second, "the attempt's log line", func() bool { return strings.Contains(logs.String(), "delivery: attempt") })
	var line string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "delivery: attempt") {
			line = l
		}
	}
	for _, want := range []string{"webhook_id=" + w.ID, "message_id=" + ms[0].ID, "status=418", "duration_ms=",
		"error=" + hookd.AttemptErrStatus, "success=false"} {
		if !strings.Contains(line, want) {
			t.Errorf("attempt log %q lacks %q", line, want)
		}
	}
}
