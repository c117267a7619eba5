package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// phaseResult is one measured step of a scenario.
type phaseResult struct {
	Name            string          `json:"name"`
	Publish         string          `json:"publish"` // how events were published
	Events          int             `json:"events"`  // accepted by hookd
	Deliveries      int             `json:"deliveries_expected"`
	Delivered       int             `json:"delivered"` // distinct (event, webhook) received with 2xx
	Lost            int             `json:"lost"`
	LostSample      []int64         `json:"lost_sample,omitempty"`
	DupRedeliveries int64           `json:"duplicate_redeliveries"` // same webhook-id again
	DupMessages     int64           `json:"duplicate_messages"`     // another webhook-id, same event and webhook
	OrderViolations int             `json:"order_violations"`
	OrderSamples    []string        `json:"order_samples,omitempty"`
	Attempts        int64           `json:"attempts"`
	Rejected        int64           `json:"rejected_on_purpose"`
	AvgBodyBytes    float64         `json:"avg_body_bytes"`
	PublishSeconds  float64         `json:"publish_seconds"`
	PublishRate     float64         `json:"publish_rate_per_s"`
	PublishErrors   int             `json:"publish_errors"`
	PublishFirstErr string          `json:"publish_first_error,omitempty"`
	Throttled       int             `json:"throttled_429"`
	DeliverySeconds float64         `json:"delivery_seconds"`    // first publish → last receipt
	DeliveryRate    float64         `json:"delivery_rate_per_s"` // deliveries / DeliverySeconds
	FlowRate        float64         `json:"flow_delivery_rate_per_s,omitempty"`
	DrainRate       float64         `json:"drain_rate_per_s,omitempty"` // after the last publish answer
	RatioToLimit    float64         `json:"ratio_to_limit"`
	Latency         *latencySummary `json:"latency,omitempty"`
	OfferedRate     float64         `json:"offered_rate_per_s,omitempty"`
	PublishLagP99MS float64         `json:"publish_lag_p99_ms,omitempty"`
	TimedOut        bool            `json:"timed_out"`
	HookdStopped    string          `json:"hookd_stopped,omitempty"` // hookd ended before the phase did
	// HookdCPUSeconds is the CPU hookd used from the phase's first publish
	// until its last delivery; CPUPerDeliveryUS divides it by the
	// deliveries: hookd's cost per message, publishing included, which
	// depends far less on the machine's other load than the rates do.
	HookdCPUSeconds  float64 `json:"hookd_cpu_seconds,omitempty"`
	CPUPerDeliveryUS float64 `json:"hookd_cpu_us_per_delivery,omitempty"`
	// Setup names the store and node count (see setup); Nodes is the
	// count.
	Setup string `json:"setup,omitempty"`
	Nodes int    `json:"nodes,omitempty"`
	// DB is what the PostgreSQL server spent over the same time as
	// HookdCPUSeconds; the per-delivery figures divide it by the
	// deliveries.
	DB                  *dbUse   `json:"db,omitempty"`
	DBCPUPerDeliveryUS  float64  `json:"db_cpu_us_per_delivery,omitempty"`
	DeliveriesPerDBCPUS float64  `json:"deliveries_per_db_cpu_second,omitempty"`
	LockWaitPerDelivery float64  `json:"lock_wait_us_per_delivery,omitempty"`
	CommitsPerDelivery  float64  `json:"commits_per_delivery,omitempty"`
	Notes               []string `json:"notes,omitempty"`
}

// label is the phase's name and, when the run has several setups, its
// setup's.
func (p *phaseResult) label() string {
	if p.Setup == "" {
		return p.Name
	}
	return p.Name + " [" + p.Setup + "]"
}

// scenarioResult is one scenario on its own hookd process.
type scenarioResult struct {
	Name            string             `json:"name"`
	Setup           string             `json:"setup,omitempty"`
	Title           string             `json:"title"`
	Phases          []phaseResult      `json:"phases"`
	PeakRSSMiB      float64            `json:"peak_rss_mib"`
	RSSMiB          float64            `json:"rss_mib_at_end"`
	HookdCPUSeconds float64            `json:"hookd_cpu_seconds"`
	BenchCPUSeconds float64            `json:"bench_cpu_seconds"`
	WallSeconds     float64            `json:"wall_seconds"`
	Extra           map[string]float64 `json:"extra,omitempty"`
	Notes           []string           `json:"notes,omitempty"`
	Error           string             `json:"error,omitempty"`
}

func (r *scenarioResult) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (r *scenarioResult) extra(k string, v float64) {
	if r.Extra == nil {
		r.Extra = map[string]float64{}
	}
	r.Extra[k] = v
}

// scenario is one of a–e.
type scenario struct {
	name  string
	title string
	run   func(b *bench, ctx context.Context, e *env, r *scenarioResult) error
}

var scenarios = []scenario{
	{"a", "1 webhook: batched backlog, single publish, steady flow, latency at fixed load", (*bench).scenarioA},
	{"b", "fan-out: each event to 100 webhooks", (*bench).scenarioB},
	{"c", "grouped delivery: 1000 groups, order checked", (*bench).scenarioC},
	{"d", "receiver fails 20% of requests; ms retry schedule", (*bench).scenarioD},
	{"e", "backlog of scheduled retries vs. new-event delivery", (*bench).scenarioE},
	{"f", "a healthy webhook beside 10 hostile ones with a backlog", (*bench).scenarioF},
	{"u", "the dashboard's pages on a store of --backlog messages", (*bench).scenarioU},
}

// runScenario runs s on fresh hookd nodes of setup st within its deadline
// and always stops them afterwards.
func (b *bench) runScenario(parent context.Context, s scenario, st setup) scenarioResult {
	r := scenarioResult{Name: s.name, Title: s.title}
	many := len(b.cfg.setups()) > 1
	if many {
		r.Setup = st.label
	}
	ctx, cancel := context.WithTimeout(parent, b.cfg.deadline(s.name))
	defer cancel()
	b.logf("scenario %s on %s: %s (deadline %s)", s.name, st.label, s.title, b.cfg.deadline(s.name))
	start, cpu0 := time.Now(), selfCPUSeconds()
	e, err := b.startEnv(ctx, s.name, st)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer e.stop()
	defer func() {
		for i := range r.Phases {
			r.Phases[i].Setup, r.Phases[i].Nodes = r.Setup, st.nodes
		}
	}()
	if e.note != "" {
		r.Notes = append(r.Notes, e.note)
	}
	err = s.run(b, ctx, e, &r)
	r.WallSeconds = time.Since(start).Seconds()
	r.BenchCPUSeconds = selfCPUSeconds() - cpu0
	r.HookdCPUSeconds = e.h.cpuSeconds()
	peak, now := e.h.memory()
	r.PeakRSSMiB, r.RSSMiB = mib(peak), mib(now)
	if !e.h.alive() {
		r.note("hookd exited during the scenario (%s); log tail:\n%s", e.h.exitReason(), e.h.logTail(15))
		if err == nil {
			err = errors.New("hookd exited")
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, context.DeadlineExceeded) && parent.Err() == nil:
		r.Error = "scenario deadline exceeded: " + err.Error()
	default:
		r.Error = err.Error()
	}
	b.logf("scenario %s done in %.1fs (peak RSS %.0f MiB, hookd CPU %.1fs)", s.name, r.WallSeconds, r.PeakRSSMiB, r.HookdCPUSeconds)
	return r
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// target is what one sink must receive in a phase.
type target struct {
	s    *sink
	seqs []int64
}

// await waits until every target holds all its events, ctx ends or hookd
// dies, logging progress; it reports whether it gave up.
func (b *bench) await(ctx context.Context, e *env, name string, targets []target) (gaveUp bool) {
	want := 0
	for _, t := range targets {
		want += len(t.seqs)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	lastLog, lastGot, lastProgress := time.Now(), -1, time.Now()
	for {
		got := 0
		for _, t := range targets {
			got += min(t.s.unique(), len(t.seqs))
		}
		if got >= want {
			return false
		}
		if got != lastGot {
			lastGot, lastProgress = got, time.Now()
		}
		if time.Since(lastLog) >= 5*time.Second {
			b.logf("  %s: %d/%d delivered (no progress for %.0fs)", name, got, want, time.Since(lastProgress).Seconds())
			lastLog = time.Now()
		}
		if !e.h.alive() {
			return true
		}
		if time.Since(lastProgress) > b.cfg.stall {
			b.logf("  %s: no progress for %s; giving up", name, b.cfg.stall)
			return true
		}
		select {
		case <-ctx.Done():
			return true
		case <-tick.C:
		}
	}
}

// finish fills a phase's delivery figures from its targets after await.
func (b *bench) finish(ctx context.Context, e *env, name, how string, pub pubResult, fanout int, targets []target, gaveUp, wantLatency bool) phaseResult {
	p := phaseResult{
		Name: name, Publish: how, Events: pub.Accepted,
		PublishSeconds: pub.duration().Seconds(), PublishRate: rate(pub.Accepted, pub.duration()),
		PublishErrors: pub.Errors, PublishFirstErr: pub.FirstErr, Throttled: pub.Throttled, TimedOut: gaveUp,
	}
	if ctx.Err() != nil {
		p.TimedOut = true
		p.Notes = append(p.Notes, "cut short: "+context.Cause(ctx).Error())
	}
	var last int64
	var lat []time.Duration
	var body float64
	drained := 0
	for _, t := range targets {
		drained += countIn(t.s.receiptTimes(), pub.End.UnixNano(), 1<<62)
		st := t.s.stats()
		missing, some := t.s.missing(t.seqs)
		p.Deliveries += len(t.seqs)
		p.Delivered += len(t.seqs) - missing
		p.Lost += missing
		if len(p.LostSample) < 3 {
			p.LostSample = append(p.LostSample, some...)
		}
		p.DupRedeliveries += st.DupIDs
		p.DupMessages += st.DupEvents
		p.OrderViolations += st.Order
		p.OrderSamples = append(p.OrderSamples, st.Samples...)
		p.Attempts += st.Attempts
		p.Rejected += st.Rejected
		body += st.AvgBody
		last = max(last, st.LastAt)
		if wantLatency {
			lat = append(lat, t.s.latencies()...)
		}
	}
	if len(targets) > 0 {
		p.AvgBodyBytes = body / float64(len(targets))
	}
	if last > 0 {
		el := time.Duration(last - pub.Start.UnixNano())
		p.DeliverySeconds = el.Seconds()
		p.DeliveryRate = rate(p.Delivered, el)
		p.RatioToLimit = p.DeliveryRate / b.limit.Rate
		// Only meaningful when a good part was delivered after publishing.
		if d := time.Duration(last - pub.End.UnixNano()); drained >= p.Delivered/4 && d > 100*time.Millisecond {
			p.DrainRate = rate(drained, d)
		}
	}
	if wantLatency && len(lat) > 0 {
		s := summarize(lat)
		p.Latency = &s
	}
	if p.Delivered > 0 && e.h.alive() {
		p.HookdCPUSeconds = e.h.cpuSeconds() - pub.hookdCPU0
		p.CPUPerDeliveryUS = p.HookdCPUSeconds * 1e6 / float64(p.Delivered)
	}
	if e.db != nil && p.Delivered > 0 {
		p.DB = pub.db0.to(e.db.snap(ctx))
		d := float64(p.Delivered)
		p.DBCPUPerDeliveryUS = p.DB.CPUSeconds * 1e6 / d
		if p.DB.CPUSeconds > 0 {
			p.DeliveriesPerDBCPUS = d / p.DB.CPUSeconds
		}
		p.LockWaitPerDelivery = p.DB.LockWaitSeconds * 1e6 / d
		p.CommitsPerDelivery = float64(p.DB.Commits) / d
	}
	if fanout > 1 {
		p.Notes = append(p.Notes, fmt.Sprintf("%d events × %d webhooks; publish created %.0f messages/s; delivery rates count deliveries",
			pub.Accepted, fanout, p.PublishRate*float64(fanout)))
	}
	if gaveUp {
		p.Notes = append(p.Notes, fmt.Sprintf("gave up waiting: %d of %d delivered", p.Delivered, p.Deliveries))
	}
	if !e.h.alive() {
		p.HookdStopped = e.h.exitReason()
		p.TimedOut = true
	}
	b.logf("  %s: %d events, publish %.0f/s, %d/%d delivered at %.0f/s (%.2f × limit)",
		name, p.Events, p.PublishRate, p.Delivered, p.Deliveries, p.DeliveryRate, p.RatioToLimit)
	return p
}

// batches returns a batch source over n events of type typ, shared by all
// clients (order across clients does not matter).
func (b *bench) batches(typ string, n, size int) func(int) []evt {
	var next atomic.Int64
	return func(int) []evt {
		lo := int(next.Add(1)-1) * size
		if lo >= n {
			return nil
		}
		out := make([]evt, min(lo+size, n)-lo)
		for i := range out {
			out[i] = evt{Type: typ, Seq: b.seq.Add(1)}
		}
		return out
	}
}

func (b *bench) batchHow(size int) string {
	return fmt.Sprintf("batch of %d, %d clients", size, b.cfg.batchClients)
}

// backlogPhase publishes n events of typ in batches to the webhooks whose
// sinks are given and waits until they are delivered.
func (b *bench) backlogPhase(ctx context.Context, e *env, name, typ string, n int, sinks []*sink) phaseResult {
	pub := publishBatches(ctx, e, b.pad, true, b.cfg.batchClients, b.batches(typ, n, b.cfg.batchSize))
	targets := make([]target, len(sinks))
	for i, s := range sinks {
		targets[i] = target{s, pub.Seqs}
	}
	gaveUp := b.await(ctx, e, name, targets)
	return b.finish(ctx, e, name, b.batchHow(b.cfg.batchSize), pub, len(sinks), targets, gaveUp, true)
}

// webhook is the body of a webhook registration for the benchmark.
func webhook(name, url string, types ...string) map[string]any {
	return map[string]any{"name": name, "url": url, "event_types": types}
}

func (b *bench) scenarioA(ctx context.Context, e *env, r *scenarioResult) error {
	cfg := b.cfg
	// 1. a backlog published in batches as fast as hookd takes it.
	s1 := b.rcv.addSink("a-backlog", sinkOK)
	if _, err := e.createWebhook(ctx, webhook("a-backlog", s1.url, "a.backlog")); err != nil {
		return err
	}
	b.logf("  a: publishing %d events in batches of %d", cfg.aEvents, cfg.batchSize)
	stopProfile := b.startProfile(ctx, e, r)
	p := b.backlogPhase(ctx, e, "a backlog", "a.backlog", cfg.aEvents, []*sink{s1})
	stopProfile()
	r.Phases = append(r.Phases, p)
	s1.release()
	if err := ctx.Err(); err != nil {
		return err
	}

	// 2. single-event publishing from many clients.
	s2 := b.rcv.addSink("a-single", sinkOK)
	if _, err := e.createWebhook(ctx, webhook("a-single", s2.url, "a.single")); err != nil {
		return err
	}
	b.logf("  a: publishing %d single events from %d clients", cfg.singleEvents, cfg.singleClients)
	var left atomic.Int64
	left.Store(int64(cfg.singleEvents))
	next := func() (evt, bool) {
		if left.Add(-1) < 0 {
			return evt{}, false
		}
		return evt{Type: "a.single", Seq: b.seq.Add(1)}, true
	}
	pub := publishSingles(ctx, e, b.pad, cfg.singleClients, next, nil)
	t2 := []target{{s2, pub.Seqs}}
	p = b.finish(ctx, e, "a single", fmt.Sprintf("single, %d clients", cfg.singleClients), pub, 1, t2, b.await(ctx, e, "a single", t2), true)
	r.Phases = append(r.Phases, p)
	s2.release()
	if err := ctx.Err(); err != nil {
		return err
	}

	// 3. steady flow: batches of 100 for a fixed time (bounded in count);
	// the delivery rate is counted at the receiver while publishing goes on.
	s3 := b.rcv.addSink("a-steady", sinkOK)
	if _, err := e.createWebhook(ctx, webhook("a-steady", s3.url, "a.steady")); err != nil {
		return err
	}
	const steadyBatch = 100
	b.logf("  a: steady flow for %s (batches of %d, at most %d events)", cfg.steadyDur, steadyBatch, cfg.aEvents)
	stopAt := time.Now().Add(cfg.steadyDur)
	src := b.batches("a.steady", cfg.aEvents, steadyBatch)
	pub = publishBatches(ctx, e, b.pad, true, cfg.batchClients, func(c int) []evt {
		if time.Now().After(stopAt) {
			return nil
		}
		return src(c)
	})
	t3 := []target{{s3, pub.Seqs}}
	p = b.finish(ctx, e, "a steady", b.batchHow(steadyBatch), pub, 1, t3, b.await(ctx, e, "a steady", t3), true)
	// Receipts while publishing went on, after the first quarter (warm-up).
	from := pub.Start.Add(pub.duration() / 4)
	if w := pub.End.Sub(from); w > 0 {
		p.FlowRate = rate(countIn(s3.receiptTimes(), from.UnixNano(), pub.End.UnixNano()), w)
		p.Notes = append(p.Notes, fmt.Sprintf("delivered %.0f/s while publishing (%.2f × limit)", p.FlowRate, p.FlowRate/b.limit.Rate))
	}
	r.Phases = append(r.Phases, p)
	s3.release()
	if err := ctx.Err(); err != nil {
		return err
	}

	// 4. end-to-end latency at a fixed offered load of single events.
	s4 := b.rcv.addSink("a-latency", sinkOK)
	if _, err := e.createWebhook(ctx, webhook("a-latency", s4.url, "a.latency")); err != nil {
		return err
	}
	n := cfg.latencyRate * int(cfg.latencyDur/time.Second)
	b.logf("  a: %d events/s offered for %s (single, %d clients)", cfg.latencyRate, cfg.latencyDur, cfg.singleClients)
	next = func() (evt, bool) { return evt{Type: "a.latency", Seq: b.seq.Add(1)}, true }
	pub = publishSingles(ctx, e, b.pad, cfg.singleClients, next, pace(ctx, cfg.latencyRate, n))
	t4 := []target{{s4, pub.Seqs}}
	p = b.finish(ctx, e, "a latency", fmt.Sprintf("single at %d/s, %d clients", cfg.latencyRate, cfg.singleClients), pub, 1, t4, b.await(ctx, e, "a latency", t4), true)
	p.OfferedRate = rate(pub.Accepted, pub.duration())
	if len(pub.Lag) > 0 {
		slices.Sort(pub.Lag)
		p.PublishLagP99MS = float64(percentile(pub.Lag, 99)) / float64(time.Millisecond)
		if p.PublishLagP99MS > 50 {
			p.Notes = append(p.Notes, fmt.Sprintf("publishers fell behind the schedule (p99 lag %.0f ms): offered load not fully held", p.PublishLagP99MS))
		}
	}
	r.Phases = append(r.Phases, p)
	s4.release()
	return ctx.Err()
}

func (b *bench) scenarioB(ctx context.Context, e *env, r *scenarioResult) error {
	const hooks = 100
	sinks := make([]*sink, hooks)
	for i := range sinks {
		sinks[i] = b.rcv.addSink(fmt.Sprintf("b-%03d", i), sinkOK)
		if _, err := e.createWebhook(ctx, webhook(fmt.Sprintf("b-%03d", i), sinks[i].url, "b.fanout")); err != nil {
			return err
		}
	}
	b.logf("  b: publishing %d events to %d webhooks", b.cfg.bEvents, hooks)
	p := b.backlogPhase(ctx, e, "b fan-out", "b.fanout", b.cfg.bEvents, sinks)
	r.Phases = append(r.Phases, p)
	for _, s := range sinks {
		s.release()
	}
	return ctx.Err()
}

func (b *bench) scenarioC(ctx context.Context, e *env, r *scenarioResult) error {
	const groups = 1000
	s := b.rcv.addSink("c-grouped", sinkOK)
	s.ordered = true
	spec := webhook("c-grouped", s.url, "c.grouped")
	spec["grouped"] = true
	if _, err := e.createWebhook(ctx, spec); err != nil {
		return err
	}
	perGroup := max(b.cfg.cEvents/groups, 1)
	clients := min(b.cfg.batchClients, groups)
	// Client k owns the groups g with g % clients == k and publishes their
	// events round by round, so each group's events are published in
	// their number order by one client, batch after batch.
	type cursor struct{ round, idx int }
	owned := make([][]string, clients)
	for g := range groups {
		owned[g%clients] = append(owned[g%clients], fmt.Sprintf("g%04d", g))
	}
	cur := make([]cursor, clients)
	next := func(k int) []evt {
		c := &cur[k]
		var out []evt
		for len(out) < b.cfg.batchSize && c.round < perGroup {
			out = append(out, evt{Type: "c.grouped", Group: owned[k][c.idx], N: int64(c.round + 1), Seq: b.seq.Add(1)})
			if c.idx++; c.idx == len(owned[k]) {
				c.idx, c.round = 0, c.round+1
			}
		}
		return out
	}
	b.logf("  c: publishing %d events in %d groups (%d each)", perGroup*groups, groups, perGroup)
	pub := publishBatches(ctx, e, b.pad, true, clients, next)
	t := []target{{s, pub.Seqs}}
	p := b.finish(ctx, e, "c grouped", b.batchHow(b.cfg.batchSize)+", groups split by client", pub, 1, t, b.await(ctx, e, "c grouped", t), true)
	if pub.Errors > 0 {
		p.Notes = append(p.Notes, "a failed batch leaves gaps in its groups' numbers; only arrivals out of order are counted")
	}
	r.Phases = append(r.Phases, p)
	s.release()
	return ctx.Err()
}

func (b *bench) scenarioD(ctx context.Context, e *env, r *scenarioResult) error {
	s := b.rcv.addSink("d-flaky", sinkFlaky)
	s.failPct = 20
	spec := webhook("d-flaky", s.url, "d.flaky")
	spec["retry_schedule"] = []string{"10ms", "20ms"}
	spec["max_retries"] = 10
	if _, err := e.createWebhook(ctx, spec); err != nil {
		return err
	}
	b.logf("  d: publishing %d events to a receiver failing 20%% of requests", b.cfg.dEvents)
	p := b.backlogPhase(ctx, e, "d 20% failing", "d.flaky", b.cfg.dEvents, []*sink{s})
	if p.Attempts > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("%d attempts, %d answered 500 (%.1f%%)", p.Attempts, p.Rejected, 100*float64(p.Rejected)/float64(p.Attempts)))
	}
	r.Phases = append(r.Phases, p)
	s.release()
	return ctx.Err()
}

func (b *bench) scenarioE(ctx context.Context, e *env, r *scenarioResult) error {
	cfg := b.cfg
	live := b.rcv.addSink("e-live", sinkOK)
	dead := b.rcv.addSink("e-dead", sinkDead)
	if _, err := e.createWebhook(ctx, webhook("e-live", live.url, "e.live")); err != nil {
		return err
	}
	spec := webhook("e-dead", dead.url, "e.backlog")
	spec["retry_schedule"] = []string{"24h"}
	spec["failure_handling"] = map[string]any{"suspend_after": "0s"}
	if _, err := e.createWebhook(ctx, spec); err != nil {
		return err
	}

	b.logf("  e: baseline: %d new events without backlog", cfg.eLive)
	p0 := b.backlogPhase(ctx, e, "e live, no backlog", "e.live", cfg.eLive, []*sink{live})
	r.Phases = append(r.Phases, p0)
	peak0, _ := e.h.memory()
	r.extra("rss_peak_mib_before_backlog", mib(peak0))
	if err := ctx.Err(); err != nil {
		return err
	}

	b.logf("  e: building a backlog of %d messages waiting for a retry in 24h", cfg.backlog)
	pub := publishBatches(ctx, e, b.pad, false, cfg.batchClients, b.batches("e.backlog", cfg.backlog, cfg.batchSize))
	r.extra("backlog_publish_seconds", pub.duration().Seconds())
	r.extra("backlog_publish_rate_per_s", rate(pub.Accepted, pub.duration()))
	b.logf("  e: %d backlog events accepted in %.1fs (%.0f/s); waiting for their first attempts",
		pub.Accepted, pub.duration().Seconds(), rate(pub.Accepted, pub.duration()))
	tick := time.NewTicker(50 * time.Millisecond)
	lastLog := time.Now()
	var built time.Time
	lastN, lastProgress := int64(-1), time.Now()
	for ctx.Err() == nil && e.h.alive() {
		n := dead.attempts.Load()
		if n >= int64(pub.Accepted) {
			built = time.Now()
			break
		}
		if n != lastN {
			lastN, lastProgress = n, time.Now()
		} else if time.Since(lastProgress) > b.cfg.stall {
			b.logf("  e: no first attempt for %s; giving up", b.cfg.stall)
			break
		}
		if time.Since(lastLog) >= 10*time.Second {
			b.logf("  e: %d/%d first attempts made", dead.attempts.Load(), pub.Accepted)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	tick.Stop()
	bp := phaseResult{
		Name: "e backlog build-up", Publish: b.batchHow(cfg.batchSize), Events: pub.Accepted,
		Deliveries: pub.Accepted, Attempts: dead.attempts.Load(), Rejected: dead.rejected.Load(),
		PublishSeconds: pub.duration().Seconds(), PublishRate: rate(pub.Accepted, pub.duration()),
		PublishErrors: pub.Errors, PublishFirstErr: pub.FirstErr, Throttled: pub.Throttled,
		Notes: []string{"receiver answers 500; each message gets one attempt, then waits 24h; rates count first attempts"},
	}
	bp.Delivered = int(min(bp.Attempts, int64(pub.Accepted)))
	if built.IsZero() {
		bp.TimedOut = true
		bp.Notes = append(bp.Notes, fmt.Sprintf("gave up: %d of %d first attempts made", bp.Attempts, pub.Accepted))
		r.Phases = append(r.Phases, bp)
		if err := ctx.Err(); err != nil {
			return err
		}
		return errors.New("backlog was not built")
	}
	el := built.Sub(pub.Start)
	bp.DeliverySeconds, bp.DeliveryRate = el.Seconds(), rate(bp.Delivered, el)
	bp.RatioToLimit = bp.DeliveryRate / b.limit.Rate
	r.extra("backlog_messages", float64(pub.Accepted))
	r.extra("backlog_buildup_seconds", el.Seconds())
	r.Phases = append(r.Phases, bp)
	b.logf("  e: backlog built in %.1fs", el.Seconds())

	live.resetPhase()
	attemptsBefore := dead.attempts.Load()
	b.logf("  e: %d new events with the backlog waiting", cfg.eLive)
	p1 := b.backlogPhase(ctx, e, "e live, with backlog", "e.live", cfg.eLive, []*sink{live})
	if p0.DeliveryRate > 0 {
		ratio := p1.DeliveryRate / p0.DeliveryRate
		r.extra("with_vs_without_backlog", ratio)
		p1.Notes = append(p1.Notes, fmt.Sprintf("%.3f × the rate without backlog", ratio))
	}
	if extra := dead.attempts.Load() - attemptsBefore; extra > 0 {
		p1.Notes = append(p1.Notes, fmt.Sprintf("%d attempts to the backlog webhook during this phase (none due for 24h)", extra))
		r.extra("backlog_early_attempts", float64(extra))
	}
	r.Phases = append(r.Phases, p1)
	return ctx.Err()
}

// hostileTimeout is the timeout_ms of scenario f's hostile webhooks.
const hostileTimeout = 3 * time.Second

// pacedPhase publishes n single events of typ at perSecond a second from 4
// clients to the webhook of sink s and waits until they are delivered.
func (b *bench) pacedPhase(ctx context.Context, e *env, name, typ string, s *sink, perSecond, n int) phaseResult {
	const clients = 4
	next := func() (evt, bool) { return evt{Type: typ, Seq: b.seq.Add(1)}, true }
	pub := publishSingles(ctx, e, b.pad, clients, next, pace(ctx, perSecond, n))
	t := []target{{s, pub.Seqs}}
	p := b.finish(ctx, e, name, fmt.Sprintf("single at %d/s, %d clients", perSecond, clients), pub, 1, t, b.await(ctx, e, name, t), true)
	p.OfferedRate = rate(pub.Accepted, pub.duration())
	if len(pub.Lag) > 0 {
		slices.Sort(pub.Lag)
		p.PublishLagP99MS = float64(percentile(pub.Lag, 99)) / float64(time.Millisecond)
	}
	return p
}

// scenarioF measures head-of-line blocking: a healthy webhook's latency
// at a fixed rate, alone and then beside 10 hostile webhooks (4 never
// answer, 3 answer a byte a second, 3 reset the connection; timeout_ms
// 3000, max_retries 0) that each have a backlog published just before.
// The hostile webhooks' attempts are counted against what their bound
// allows: with the circuit open one at a time, so one per 3 s for those
// that hang or trickle, and all of them soon for those that reset.
func (b *bench) scenarioF(ctx context.Context, e *env, r *scenarioResult) error {
	cfg := b.cfg
	n := cfg.fRate * int(cfg.fDur/time.Second)
	healthy := b.rcv.addSink("f-healthy", sinkOK)
	if _, err := e.createWebhook(ctx, webhook("f-healthy", healthy.url, "f.healthy")); err != nil {
		return err
	}
	b.logf("  f: healthy webhook alone, %d events/s for %s", cfg.fRate, cfg.fDur)
	p0 := b.pacedPhase(ctx, e, "f healthy alone", "f.healthy", healthy, cfg.fRate, n)
	r.Phases = append(r.Phases, p0)
	if err := ctx.Err(); err != nil {
		return err
	}
	healthy.resetPhase()

	type hostileHook struct {
		kind string
		s    *sink
	}
	var hostile []hostileHook
	for i, k := range []struct {
		kind string
		mode sinkMode
	}{{"hang", sinkHang}, {"hang", sinkHang}, {"hang", sinkHang}, {"hang", sinkHang},
		{"trickle", sinkTrickle}, {"trickle", sinkTrickle}, {"trickle", sinkTrickle},
		{"reset", sinkReset}, {"reset", sinkReset}, {"reset", sinkReset}} {
		name := fmt.Sprintf("f-%s-%d", k.kind, i)
		s := b.rcv.addSink(name, k.mode)
		spec := webhook(name, s.url, fmt.Sprintf("f.hostile.%d", i))
		spec["timeout_ms"] = hostileTimeout.Milliseconds()
		spec["max_retries"] = 0
		if _, err := e.createWebhook(ctx, spec); err != nil {
			return err
		}
		hostile = append(hostile, hostileHook{k.kind, s})
	}
	total := cfg.fBacklog * len(hostile)
	b.logf("  f: %d hostile webhooks, backlog %d each; then the healthy webhook again", len(hostile), cfg.fBacklog)
	var made atomic.Int64
	pub := publishBatches(ctx, e, b.pad, false, cfg.batchClients, func(int) []evt {
		lo := int(made.Add(int64(cfg.batchSize))) - cfg.batchSize
		if lo >= total {
			return nil
		}
		out := make([]evt, min(lo+cfg.batchSize, total)-lo)
		for i := range out {
			out[i] = evt{Type: fmt.Sprintf("f.hostile.%d", (lo+i)%len(hostile)), Seq: b.seq.Add(1)}
		}
		return out
	})
	r.extra("hostile_backlog_publish_seconds", pub.duration().Seconds())
	if pub.Errors > 0 {
		return fmt.Errorf("hostile backlog: %d publish requests failed, first: %s", pub.Errors, pub.FirstErr)
	}
	p1 := b.pacedPhase(ctx, e, "f healthy beside hostile", "f.healthy", healthy, cfg.fRate, n)
	end := time.Now()
	if p0.Latency != nil && p1.Latency != nil {
		p1.Notes = append(p1.Notes, fmt.Sprintf("p99 %.1f ms beside the hostile backlog vs %.1f ms alone (target ≤ %.1f ms)",
			p1.Latency.P99MS, p0.Latency.P99MS, 2*p0.Latency.P99MS+100))
	}
	r.Phases = append(r.Phases, p1)

	// What the hostile webhooks got, from the backlog's publish to the
	// end of the healthy phase.
	el := end.Sub(pub.Start)
	slowBound := el.Seconds() / hostileTimeout.Seconds() // one at a time, each a timeout long
	var slowMin, resetMin, most float64 = math.Inf(1), math.Inf(1), 0
	for _, h := range hostile {
		tried := float64(len(h.s.triedTimes()))
		most = max(most, float64(h.s.most.Load()))
		switch h.kind {
		case "reset":
			resetMin = min(resetMin, tried)
		default:
			slowMin = min(slowMin, tried)
		}
		r.extra("hostile_"+h.s.name+"_attempted", tried)
	}
	r.extra("hostile_seconds", el.Seconds())
	r.extra("hostile_slow_attempted_min", slowMin)
	r.extra("hostile_slow_bound", slowBound)
	r.extra("hostile_reset_attempted_min", resetMin)
	r.extra("hostile_backlog_each", float64(cfg.fBacklog))
	r.extra("hostile_most_at_once", most)
	r.note("hostile webhooks in %.1f s: each hanging or trickling one got ≥ %.0f attempts (one at a time each %s: %.1f), each resetting one ≥ %.0f of %d; at most %.0f requests at once to one",
		el.Seconds(), slowMin, hostileTimeout, slowBound, resetMin, cfg.fBacklog, most)
	return ctx.Err()
}
