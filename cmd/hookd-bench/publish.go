package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// evt is one event to publish.
type evt struct {
	Type  string
	Group string
	Seq   int64 // unique in the run
	N     int64 // number within the group, from 1
}

func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

// appendEvent appends the JSON of an event publish request; t is the publish
// time written into the payload. Types, groups and the padding are plain
// ASCII chosen by the benchmark, so no escaping is needed.
func appendEvent(b []byte, e evt, t int64, pad string) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, e.Type...)
	b = append(b, `","payload":{"seq":`...)
	b = appendInt(b, e.Seq)
	b = append(b, `,"t":`...)
	b = appendInt(b, t)
	if e.Group != "" {
		b = append(b, `,"g":"`...)
		b = append(b, e.Group...)
		b = append(b, `","n":`...)
		b = appendInt(b, e.N)
	}
	b = append(b, `,"pad":"`...)
	b = append(b, pad...)
	b = append(b, `"}`...)
	if e.Group != "" {
		b = append(b, `,"group":"`...)
		b = append(b, e.Group...)
		b = append(b, '"')
	}
	return append(b, '}')
}

// pubResult is what a publishing phase achieved.
type pubResult struct {
	Seqs      []int64 // sequence numbers of accepted events (nil when not kept)
	Accepted  int
	Start     time.Time // just before the first request
	End       time.Time // when the last answer came
	Errors    int
	FirstErr  string
	Throttled int             // 429 answers retried
	Lag       []time.Duration // paced publishing: actual send − scheduled send
	hookdCPU0 float64         // hookd's CPU seconds when publishing began
	db0       dbSnap          // the database's counters then
}

func (r *pubResult) duration() time.Duration { return r.End.Sub(r.Start) }

// publisher collects the answers of concurrent publishing clients.
type publisher struct {
	e    *env
	pad  string
	keep bool // keep accepted seqs

	mu  sync.Mutex
	res pubResult
}

func (p *publisher) accept(seqs []int64, end time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.res.Accepted += len(seqs)
	if p.keep {
		p.res.Seqs = append(p.res.Seqs, seqs...)
	}
	if end.After(p.res.End) {
		p.res.End = end
	}
}

func (p *publisher) fail(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return // the run is ending; the phase is reported as cut short
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.res.Errors++
	if p.res.FirstErr == "" {
		p.res.FirstErr = err.Error()
	}
}

// maxThrottleRetries bounds how often one request is retried after 429.
const maxThrottleRetries = 100

// send posts one request, retrying on 429 after Retry-After (at most 2 s),
// and returns the answer of the first non-429 response.
func (p *publisher) send(ctx context.Context, client int, path string, body []byte) (int, []byte, error) {
	for try := 0; ; try++ {
		status, resp, ra, err := p.e.apiFor(client).post(ctx, path, body)
		if err != nil || status != http.StatusTooManyRequests || try >= maxThrottleRetries {
			return status, resp, err
		}
		p.mu.Lock()
		p.res.Throttled++
		p.mu.Unlock()
		wait := min(max(ra, 10*time.Millisecond), 2*time.Second)
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// publishBatches publishes with /events/batch from clients concurrent
// clients; next(client) returns that client's next batch, nil when it is
// done. Each client sends its batches one after the other, so events that
// one client publishes keep their order.
func publishBatches(ctx context.Context, e *env, pad string, keep bool, clients int, next func(client int) []evt) pubResult {
	p := &publisher{e: e, pad: pad, keep: keep}
	p.res.hookdCPU0, p.res.db0 = e.h.cpuSeconds(), e.db.snap(ctx)
	p.res.Start = time.Now()
	path := "/v1/tenants/" + e.tenant + "/events/batch"
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			var buf []byte
			seqs := make([]int64, 0, 1000)
			for ctx.Err() == nil {
				batch := next(c)
				if len(batch) == 0 {
					return
				}
				now := time.Now().UnixNano()
				buf = append(buf[:0], `{"events":[`...)
				seqs = seqs[:0]
				for i, ev := range batch {
					if i > 0 {
						buf = append(buf, ',')
					}
					buf = appendEvent(buf, ev, now, pad)
					seqs = append(seqs, ev.Seq)
				}
				buf = append(buf, "]}"...)
				status, resp, err := p.send(ctx, c, path, buf)
				if err != nil {
					p.fail(ctx, err)
					continue
				}
				if status != http.StatusAccepted {
					p.fail(ctx, &apiError{Status: status, Body: string(resp)})
					continue
				}
				var out struct {
					Data []json.RawMessage `json:"data"`
				}
				if err := json.Unmarshal(resp, &out); err != nil || len(out.Data) != len(batch) {
					p.fail(ctx, fmt.Errorf("batch answer with %d of %d results: %.200s", len(out.Data), len(batch), resp))
					continue
				}
				p.accept(seqs, time.Now())
			}
		})
	}
	wg.Wait()
	if p.res.End.IsZero() {
		p.res.End = time.Now()
	}
	return p.res
}

// publishSingles publishes one event per request from clients concurrent
// clients; next returns the next event and whether there is one. When
// schedule is non-nil each event waits for a token from it (paced
// publishing) and the lag behind the token's time is recorded.
func publishSingles(ctx context.Context, e *env, pad string, clients int, next func() (evt, bool), schedule <-chan time.Time) pubResult {
	p := &publisher{e: e, pad: pad, keep: true}
	p.res.hookdCPU0, p.res.db0 = e.h.cpuSeconds(), e.db.snap(ctx)
	p.res.Start = time.Now()
	path := "/v1/tenants/" + e.tenant + "/events"
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			var buf []byte
			for ctx.Err() == nil {
				var due time.Time
				if schedule != nil {
					var ok bool
					select {
					case due, ok = <-schedule:
						if !ok {
							return
						}
					case <-ctx.Done():
						return
					}
				}
				ev, ok := next()
				if !ok {
					return
				}
				sent := time.Now()
				buf = appendEvent(buf[:0], ev, sent.UnixNano(), pad)
				status, resp, err := p.send(ctx, c, path, buf)
				if err != nil {
					p.fail(ctx, err)
					continue
				}
				if status != http.StatusAccepted {
					p.fail(ctx, &apiError{Status: status, Body: string(resp)})
					continue
				}
				p.accept([]int64{ev.Seq}, time.Now())
				if schedule != nil {
					p.mu.Lock()
					p.res.Lag = append(p.res.Lag, sent.Sub(due))
					p.mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if p.res.End.IsZero() {
		p.res.End = time.Now()
	}
	return p.res
}

// pace sends n tokens, one every 1/perSecond, each carrying its scheduled
// time, then closes the channel. The channel holds every token, so a slow
// consumer never slows the schedule (open loop).
func pace(ctx context.Context, perSecond, n int) <-chan time.Time {
	ch := make(chan time.Time, n)
	go func() {
		defer close(ch)
		start := time.Now()
		interval := time.Second / time.Duration(perSecond)
		for i := 0; i < n; {
			due := start.Add(time.Duration(i) * interval)
			if d := time.Until(due); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			}
			// emit every token that is due by now
			now := time.Now()
			for ; i < n && !start.Add(time.Duration(i)*interval).After(now); i++ {
				ch <- start.Add(time.Duration(i) * interval)
			}
		}
	}()
	return ch
}
