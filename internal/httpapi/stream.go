package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
)

// The event stream (GET /v1/tenants/{tenant}/stream) tails the tenant's
// events from the store, so that it works on any node of a shared
// PostgreSQL store: a publish through another node is seen at the next
// poll, one through this node at once (streamHub wakes the stream).
const (
	// streamPoll is how often a stream looks for new events when nothing
	// woke it.
	streamPoll = 250 * time.Millisecond
	// streamSweepEvery: every this many polls, the stream reads again the
	// events created in the last streamLag, to catch an event whose id sorts
	// before one it already read: a transaction that committed late, or a
	// node whose clock is behind (ids begin with their maker's clock).
	streamSweepEvery = 8
	streamLag        = 5 * time.Second
	// streamHeartbeat is the longest a stream stays silent: a comment line
	// then keeps proxies from closing it and tells the client that the
	// server is alive.
	streamHeartbeat = 15 * time.Second
	// streamPage is how many events one store read returns at most.
	streamPage = 500
)

// streamHub wakes the streams of a tenant when this process stored events
// for it, and ends every stream when the server shuts down.
type streamHub struct {
	mu      sync.Mutex
	waiting map[string]chan struct{} // tenant → closed at its next publish
	closing chan struct{}            // closed by CloseStreams
	closed  bool
}

// wait returns a channel closed at the tenant's next publish through this
// process.
func (h *streamHub) wait(tenant string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.waiting == nil {
		h.waiting = map[string]chan struct{}{}
	}
	ch, ok := h.waiting[tenant]
	if !ok {
		ch = make(chan struct{})
		h.waiting[tenant] = ch
	}
	return ch
}

// published wakes the tenant's streams.
func (h *streamHub) published(tenant string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ch, ok := h.waiting[tenant]; ok {
		close(ch)
		delete(h.waiting, tenant)
	}
}

// done returns the channel closed when the server shuts down.
func (h *streamHub) done() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing == nil {
		h.closing = make(chan struct{})
	}
	return h.closing
}

// CloseStreams ends every open event stream (GET …/stream) and refuses new
// ones with 503. Call it when the HTTP server shuts down (register it with
// http.Server.RegisterOnShutdown): a stream is never idle, so Shutdown
// would otherwise wait for it until its deadline. A client reconnects to
// another node, or to this one once it is back, and resumes where it was
// (Last-Event-ID).
func (s *Server) CloseStreams() {
	h := &s.streams
	h.done()
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.closing)
	}
}

// streamParams are the query parameters of the stream.
var streamParams = []string{"event_type"}

// tail reads a tenant's new events from the store, each once.
type tail struct {
	store    Store
	tenant   string
	patterns []string
	// floor: only events created at or after it (the stream's start),
	// zero when the stream resumes after an id.
	floor time.Time
	// resume: only events whose id sorts after it (Last-Event-ID).
	resume string
	// cursor is the greatest id read so far.
	cursor string
	// seen holds the ids read in the last 2·streamLag, with when they
	// were first read, so that a sweep sends none twice.
	seen  map[string]time.Time
	polls int
}

// next returns the events stored since the last call that match the
// stream's patterns, in id order (a late event a sweep found may come
// after events with greater ids).
func (t *tail) next(ctx context.Context, now time.Time) ([]*hookd.Event, error) {
	f := hookd.EventFilter{Page: hookd.Page{Limit: streamPage, After: max(t.cursor, t.resume)}}
	if !t.floor.IsZero() {
		floor := t.floor
		f.Since = &floor
	}
	if t.polls%streamSweepEvery == 0 {
		since := now.Add(-streamLag)
		if since.Before(t.floor) {
			since = t.floor
		}
		f.Since, f.After = &since, t.resume
	}
	t.polls++
	var out []*hookd.Event
	for {
		evs, err := t.store.ListEvents(ctx, t.tenant, f)
		if err != nil {
			return out, err
		}
		for _, e := range evs {
			t.cursor = max(t.cursor, e.ID)
			if _, ok := t.seen[e.ID]; ok {
				continue
			}
			t.seen[e.ID] = now
			if slices.ContainsFunc(t.patterns, func(p string) bool { return hookd.MatchEventType(p, e.Type) }) {
				out = append(out, e)
			}
		}
		if len(evs) < f.Limit {
			break
		}
		f.After = evs[len(evs)-1].ID
	}
	for id, at := range t.seen {
		if now.Sub(at) > 2*streamLag {
			delete(t.seen, id)
		}
	}
	return out, nil
}

// streamEvents is GET /v1/tenants/{tenant}/stream: server-sent events, one
// `delivery` event per new event of the tenant matching the event_type
// patterns, its data the body hookd would POST for it (see docs/API.md).
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, c *call) error {
	var f hookd.Fields
	q, err := query(r, &f)
	if err != nil {
		return err
	}
	patterns := q["event_type"]
	for i, p := range patterns {
		if !hookd.ValidEventTypePattern(p) {
			f.Add(fmt.Sprintf("event_type[%d]", i), `must be "*", "all", an event type of [A-Za-z0-9_.:-] (1..255) or a prefix ending in ".*"`)
		}
	}
	if len(patterns) == 0 {
		patterns = []string{"*"}
	}
	for _, name := range sortedKeys(q) {
		if !slices.Contains(streamParams, name) {
			f.Add(name, "is not a query parameter of the stream, which takes %s", strings.Join(streamParams, ", "))
		}
	}
	resume := strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	if resume != "" {
		if _, ok := hookd.IDTime(resume); !ok || !strings.HasPrefix(resume, hookd.PrefixEvent+"_") {
			f.Add("Last-Event-ID", "must be the id of an event (evt_…), as the stream sent it")
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	closing := s.streams.done()
	select {
	case <-closing:
		return hookd.Errorf(hookd.EUNAVAILABLE, "the server is shutting down; connect again")
	default:
	}

	t := &tail{store: s.Store, tenant: c.tenant, patterns: patterns, resume: resume, seen: map[string]time.Time{}}
	if resume == "" {
		t.floor = s.now()
	}
	ctx := r.Context()
	// The first read happens before the answer, so that a store that
	// cannot serve it is a 503 the client retries, not an empty stream.
	wake := s.streams.wait(c.tenant)
	evs, err := t.next(ctx, s.now())
	if err != nil {
		return err
	}

	rc := http.NewResponseController(w)
	// A stream outlives any write timeout the HTTP server may have.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	w.WriteHeader(http.StatusOK)
	// retry: what a browser's EventSource waits before reconnecting.
	if _, err := fmt.Fprintf(w, ": hookd stream of tenant %s\nretry: 1000\n\n", c.tenant); err != nil {
		return nil
	}
	if err := rc.Flush(); err != nil {
		return nil
	}

	heartbeat := time.NewTimer(streamHeartbeat)
	defer heartbeat.Stop()
	poll := time.NewTicker(streamPoll)
	defer poll.Stop()
	// pos is the stream's position, each event's SSE id: every matching
	// event up to it was sent, so a client that resumes after it
	// (Last-Event-ID) misses none and gets none twice, but for the events
	// of one that a sweep found late.
	pos := resume
	var buf []byte
	for {
		if len(evs) > 0 {
			buf = buf[:0]
			for _, e := range evs {
				body, err := delivery.Body(&hookd.Delivery{
					Message: hookd.Message{ID: e.ID, TenantID: e.TenantID, EventID: e.ID, EventType: e.Type},
					Event:   *e,
				})
				if err != nil {
					s.logger().Error("stream: encode event", "tenant", c.tenant, "event", e.ID, "err", err)
					return nil
				}
				pos = max(pos, e.ID)
				buf = fmt.Appendf(buf, "id: %s\nevent: delivery\ndata: %s\n\n", pos, body)
			}
			if _, err := w.Write(buf); err != nil {
				return nil // the client is gone
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
			heartbeat.Reset(streamHeartbeat)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-closing:
			return nil
		case <-heartbeat.C:
			if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
			heartbeat.Reset(streamHeartbeat)
			evs = nil
			continue
		case <-wake:
		case <-poll.C:
		}
		wake = s.streams.wait(c.tenant)
		evs, err = t.next(ctx, s.now())
		if err != nil {
			// The answer has begun: end the stream, and the client
			// reconnects where it was.
			if ctx.Err() == nil && hookd.ErrorCode(err) != hookd.EUNAVAILABLE && !errors.Is(err, context.Canceled) {
				s.logger().Error("stream: read events", "tenant", c.tenant, "err", err)
			}
			return nil
		}
	}
}
