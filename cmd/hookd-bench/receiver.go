package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// payload is the data of every event the benchmark publishes: a unique
// sequence number, the publish time (unix nanoseconds, same clock as the
// receiver: loopback), for grouped events the group and the number within
// it, and padding to reach a realistic body size.
type payload struct {
	Seq int64  `json:"seq"`
	T   int64  `json:"t"`
	G   string `json:"g,omitempty"`
	N   int64  `json:"n,omitempty"`
	Pad string `json:"pad"`
}

// envelope is the part of hookd's delivery body the receiver reads.
type envelope struct {
	ID   string  `json:"id"`
	Data payload `json:"data"`
}

// sinkMode says how a sink answers.
type sinkMode int

const (
	sinkOK      sinkMode = iota // 204 to everything
	sinkFlaky                   // 500 to failPct % of requests at random, else 204
	sinkDead                    // 500 to everything; only counts
	sinkHang                    // never answers: holds the request until the client gives up
	sinkTrickle                 // answers a byte a second: "HTTP/1.1 200 OK…", never done in time
	sinkReset                   // resets the connection (RST) after reading the request
)

// hostile reports whether a sink of mode m never delivers: it only counts
// attempts and the messages they were for.
func (m sinkMode) hostile() bool { return m == sinkHang || m == sinkTrickle || m == sinkReset }

// sink is one receiving endpoint (one webhook URL). It accepts a message the
// first time a webhook-id is answered with 2xx and records the arrival time,
// the latency from the publish time in the payload and, for ordered sinks,
// the per-group order.
type sink struct {
	name    string
	url     string
	done    <-chan struct{} // the receiver closes
	mode    sinkMode
	failPct int
	ordered bool

	attempts atomic.Int64 // requests received
	open     atomic.Int64 // requests being held (hostile sinks)
	most     atomic.Int64 // the most held at once (hostile sinks)
	rejected atomic.Int64 // answered 500 on purpose
	bytes    atomic.Int64 // body bytes received
	bad      atomic.Int64 // bodies that were not a benchmark delivery

	mu        sync.Mutex
	ids       map[string]struct{} // webhook-ids answered 2xx
	seqs      map[int64]struct{}  // event sequence numbers received
	dupIDs    int64               // redeliveries of an accepted webhook-id
	dupEvents int64               // new webhook-ids for an already received event
	times     []int64             // unix ns of each first receipt
	lat       []time.Duration     // publish → first receipt
	firstAt   int64
	lastAt    int64
	order     groupOrder
	// tried is, for hostile sinks, the first attempt's time of each
	// webhook-id.
	tried map[string]int64
}

// sinkStats is a consistent snapshot of a sink.
type sinkStats struct {
	Attempts  int64
	Rejected  int64
	Unique    int // distinct events received
	DupIDs    int64
	DupEvents int64
	FirstAt   int64
	LastAt    int64
	Order     int
	Samples   []string
	AvgBody   float64
}

func (s *sink) stats() sinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := sinkStats{
		Attempts: s.attempts.Load(), Rejected: s.rejected.Load(),
		Unique: len(s.seqs), DupIDs: s.dupIDs, DupEvents: s.dupEvents,
		FirstAt: s.firstAt, LastAt: s.lastAt,
		Order: s.order.violations, Samples: append([]string(nil), s.order.samples...),
	}
	if st.Attempts > 0 {
		st.AvgBody = float64(s.bytes.Load()) / float64(st.Attempts)
	}
	return st
}

// unique returns how many distinct events the sink has received.
func (s *sink) unique() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seqs)
}

// missing returns how many of want the sink has not received, and up to
// three of them.
func (s *sink) missing(want []int64) (int, []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	var some []int64
	for _, q := range want {
		if _, ok := s.seqs[q]; !ok {
			n++
			if len(some) < 3 {
				some = append(some, q)
			}
		}
	}
	return n, some
}

// receiptTimes returns a copy of the first-receipt times.
func (s *sink) receiptTimes() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.times...)
}

// latencies returns a copy of the latencies of first receipts.
func (s *sink) latencies() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.lat...)
}

// release drops the sink's maps once its phase is reported.
func (s *sink) release() {
	s.mu.Lock()
	s.ids, s.seqs, s.times, s.lat, s.order = map[string]struct{}{}, map[int64]struct{}{}, nil, nil, groupOrder{}
	s.mu.Unlock()
}

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bp := bodyPool.Get().(*[]byte)
	defer bodyPool.Put(bp)
	buf := (*bp)[:0]
	buf, err := readAll(buf, io.LimitReader(r.Body, 1<<20))
	*bp = buf[:0]
	now := time.Now().UnixNano()
	s.attempts.Add(1)
	s.bytes.Add(int64(len(buf)))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if s.mode.hostile() {
		s.hostile(w, r, now)
		return
	}
	switch s.mode {
	case sinkDead:
		s.rejected.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
		return
	case sinkFlaky:
		if rand.IntN(100) < s.failPct {
			s.rejected.Add(1)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
	}
	var env envelope
	if err := json.Unmarshal(buf, &env); err != nil || env.Data.Seq == 0 {
		s.bad.Add(1)
		w.WriteHeader(http.StatusNoContent) // not ours to judge; counted
		return
	}
	id := r.Header.Get("webhook-id")
	if id == "" {
		id = env.ID
	}
	s.mu.Lock()
	if _, dup := s.ids[id]; dup {
		s.dupIDs++
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.ids[id] = struct{}{}
	if _, dup := s.seqs[env.Data.Seq]; dup {
		s.dupEvents++
	} else {
		s.seqs[env.Data.Seq] = struct{}{}
		s.times = append(s.times, now)
		s.lat = append(s.lat, time.Duration(now-env.Data.T))
		if s.firstAt == 0 || now < s.firstAt {
			s.firstAt = now
		}
		if now > s.lastAt {
			s.lastAt = now
		}
		if s.ordered {
			s.order.observe(env.Data.G, env.Data.N)
		}
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// hostile serves a request of a hostile sink: it records the attempt, then
// holds it, trickles or resets, until the client gives up or the receiver
// closes.
func (s *sink) hostile(w http.ResponseWriter, r *http.Request, now int64) {
	id := r.Header.Get("webhook-id")
	s.mu.Lock()
	if _, ok := s.tried[id]; !ok {
		s.tried[id] = now
	}
	s.mu.Unlock()
	n := s.open.Add(1)
	defer s.open.Add(-1)
	for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
	}
	switch s.mode {
	case sinkHang:
		select {
		case <-r.Context().Done(): // the body was read: the server watches the connection
		case <-s.done:
		}
	case sinkTrickle, sinkReset:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		if s.mode == sinkReset {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // Close sends RST
			}
			return
		}
		status := []byte("HTTP/1.1 200 OK\r\n")
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 0; ; i = (i + 1) % len(status) {
			if _, err := conn.Write(status[i : i+1]); err != nil {
				return
			}
			select {
			case <-tick.C:
			case <-s.done:
				return
			}
		}
	}
}

// triedTimes returns the first attempt's time of each message of a
// hostile sink.
func (s *sink) triedTimes() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int64, 0, len(s.tried))
	for _, t := range s.tried {
		out = append(out, t)
	}
	return out
}

// readAll appends everything from r to buf.
func readAll(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// receiver is the in-process loopback HTTP server every sink lives on,
// for the limit measurement and for hookd alike.
type receiver struct {
	srv  *http.Server
	base string
	done chan struct{} // closed by close: hostile sinks let go

	mu    sync.RWMutex
	sinks map[string]*sink
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{base: "http://" + ln.Addr().String(), sinks: map[string]*sink{}, done: make(chan struct{})}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	go r.srv.Serve(ln) //nolint:errcheck // ends with Close
	return r, nil
}

func (rc *receiver) close() {
	close(rc.done)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = rc.srv.Shutdown(ctx)
	_ = rc.srv.Close()
}

// addSink creates the sink at /r/<name>, or /r/<name>-2, -3, … when a
// scenario run before (on another setup) took the name.
func (rc *receiver) addSink(name string, mode sinkMode) *sink {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i, base := 2, name; rc.sinks[name] != nil; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	s := &sink{name: name, url: rc.base + "/r/" + name, mode: mode, done: rc.done,
		ids: map[string]struct{}{}, seqs: map[int64]struct{}{}, tried: map[string]int64{}}
	rc.sinks[name] = s
	return s
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/r/")
	rc.mu.RLock()
	s := rc.sinks[name]
	rc.mu.RUnlock()
	if !ok || s == nil || r.Method != http.MethodPost {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	s.ServeHTTP(w, r)
}

// resetPhase forgets what was received for a new phase on the same webhook,
// but keeps the webhook-ids seen, so late redeliveries still count as
// duplicates.
func (s *sink) resetPhase() {
	s.mu.Lock()
	s.seqs, s.times, s.lat, s.firstAt, s.lastAt, s.order = map[int64]struct{}{}, nil, nil, 0, 0, groupOrder{}
	s.attempts.Store(0)
	s.rejected.Store(0)
	s.bytes.Store(0)
	s.mu.Unlock()
}
