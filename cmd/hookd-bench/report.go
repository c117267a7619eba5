package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// results is everything a run measured; written as JSON with --json.
type results struct {
	Date      string           `json:"date"`
	Command   string           `json:"command"`
	Source    string           `json:"hookd_source"` // what was built, see sourceVersion
	Machine   machine          `json:"machine"`
	Settings  map[string]any   `json:"settings"`
	Limit     limitResult      `json:"limit"`
	Scenarios []scenarioResult `json:"scenarios"`
	Targets   []targetResult   `json:"targets"`
	Checks    []checkResult    `json:"checks"`
	Fatal     string           `json:"fatal,omitempty"`
	Pass      bool             `json:"pass"`
}

type machine struct {
	NumCPU    int    `json:"nproc"`
	CPUModel  string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
}

// targetResult is one performance target of issue 4. Met is nil when the
// scenario that measures it did not run or did not finish.
type targetResult struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  *bool  `json:"met"`
}

// checkResult is a correctness check; a failed one fails the run.
type checkResult struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func newResults(cfg *config, args []string) *results {
	return &results{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Command: strings.TrimSpace("go run ./cmd/hookd-bench " + strings.Join(args, " ")),
		Machine: machine{NumCPU: runtime.NumCPU(), CPUModel: cpuModel(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH},
		Settings: map[string]any{
			"scenarios": cfg.scenarios, "scale": cfg.scale, "quick": cfg.quick, "workers": cfg.workers,
			"db": dbKind(cfg.db), "backlog": cfg.backlog, "batch_size": cfg.batchSize, "batch_clients": cfg.batchClients,
			"single_clients": cfg.singleClients, "latency_rate": cfg.latencyRate, "latency_duration": cfg.latencyDur.String(),
			"steady_duration": cfg.steadyDur.String(), "limit_duration": cfg.limitDur.String(),
			"retry_schedule": cfg.retrySchedule, "pad_bytes": cfg.padBytes, "nodes": cfg.nodes, "compare_sqlite": cfg.compareSQLite,
			"events": map[string]int{"a": cfg.aEvents, "a_single": cfg.singleEvents, "b": cfg.bEvents, "c": cfg.cEvents, "d": cfg.dEvents, "e_live": cfg.eLive},
			"f_rate": cfg.fRate, "f_duration": cfg.fDur.String(), "f_backlog": cfg.fBacklog,
		},
	}
}

// dbKind names the store without credentials.
func dbKind(db string) string {
	switch {
	case db == "":
		return "sqlite (embedded, temporary data dir)"
	case strings.HasPrefix(db, "sqlite://"):
		return "sqlite"
	default:
		return "postgres"
	}
}

func (r *results) phase(name string) *phaseResult {
	for i := range r.Scenarios {
		for j := range r.Scenarios[i].Phases {
			if r.Scenarios[i].Phases[j].Name == name {
				return &r.Scenarios[i].Phases[j]
			}
		}
	}
	return nil
}

// phaseIn returns the phase of that name run on setup label ("" for a run
// of one setup).
func (r *results) phaseIn(name, label string) *phaseResult {
	for i := range r.Scenarios {
		for j := range r.Scenarios[i].Phases {
			if p := &r.Scenarios[i].Phases[j]; p.Name == name && p.Setup == label {
				return p
			}
		}
	}
	return nil
}

// setupLabels returns the setups of the run's scenarios in order.
func (r *results) setupLabels() []string {
	var out []string
	for _, s := range r.Scenarios {
		if s.Setup != "" && !slices.Contains(out, s.Setup) {
			out = append(out, s.Setup)
		}
	}
	return out
}

func (r *results) scenario(name string) *scenarioResult {
	for i := range r.Scenarios {
		if r.Scenarios[i].Name == name {
			return &r.Scenarios[i]
		}
	}
	return nil
}

// complete reports whether a phase finished with every event delivered, so
// that its figures may be judged against a target.
func complete(p *phaseResult) bool { return p != nil && !p.TimedOut && p.Lost == 0 && p.Events > 0 }

func met(ok bool) *bool { return &ok }

// evaluate computes the targets and the checks.
func (r *results) evaluate() {
	limit := r.Limit.Rate
	add := func(name, want string, p *phaseResult, got func(*phaseResult) (string, bool)) {
		t := targetResult{Name: name, Want: want, Got: "not measured"}
		if complete(p) {
			g, ok := got(p)
			t.Got, t.Met = g, met(ok)
		} else if p != nil {
			t.Got = "incomplete phase"
		}
		r.Targets = append(r.Targets, t)
	}
	add("delivery rate vs. limit (a backlog)", fmt.Sprintf("≥ 0.5 × limit (≥ %s/s)", f0(limit/2)), r.phase("a backlog"), func(p *phaseResult) (string, bool) {
		return fmt.Sprintf("%s/s = %.2f × limit", f0(p.DeliveryRate), p.RatioToLimit), p.RatioToLimit >= 0.5
	})
	add("batched publish (batches of 1000)", "≥ 50,000 events/s", r.phase("a backlog"), func(p *phaseResult) (string, bool) {
		return f0(p.PublishRate) + " events/s", p.PublishRate >= 50_000
	})
	add("single publish, 32 clients", "≥ 5,000 events/s", r.phase("a single"), func(p *phaseResult) (string, bool) {
		return f0(p.PublishRate) + " events/s", p.PublishRate >= 5_000
	})
	for _, rel := range []struct{ phase, name string }{{"b fan-out", "fan-out delivery vs. limit (b)"}, {"c grouped", "grouped delivery vs. limit (c)"}} {
		add(rel.name, fmt.Sprintf("≥ 0.35 × limit (≥ %s/s)", f0(limit*0.35)), r.phase(rel.phase), func(p *phaseResult) (string, bool) {
			return fmt.Sprintf("%s/s = %.2f × limit", f0(p.DeliveryRate), p.RatioToLimit), p.RatioToLimit >= 0.35
		})
	}
	// The latency target depends on the load offered (--latency-rate):
	// ≤ 25 ms at 1,000/s, ≤ 10 ms at 5,000/s and above.
	lat := r.phase("a latency")
	latName, latWant, latMax := "p99 latency at 1,000 events/s offered", "≤ 25 ms", 25.0
	if rate, _ := r.Settings["latency_rate"].(int); rate >= 5000 {
		latName, latWant, latMax = "p99 latency at 5,000 events/s offered", "≤ 10 ms", 10.0
	}
	add(latName, latWant, lat, func(p *phaseResult) (string, bool) {
		if p.Latency == nil {
			return "no receipts", false
		}
		g := fmt.Sprintf("p99 %.1f ms (offered %.0f/s)", p.Latency.P99MS, p.OfferedRate)
		return g, p.Latency.P99MS <= latMax
	})
	e := r.scenario("e")
	without, with := r.phase("e live, no backlog"), r.phase("e live, with backlog")
	t := targetResult{Name: "new-event delivery with the backlog waiting", Want: "≥ 0.9 × without", Got: "not measured"}
	if e != nil {
		bl := r.phase("e backlog build-up")
		if complete(without) && complete(with) && bl != nil && !bl.TimedOut && without.DeliveryRate > 0 {
			ratio := with.DeliveryRate / without.DeliveryRate
			t.Got = fmt.Sprintf("%s/s vs %s/s = %.3f (backlog %d)", f0(with.DeliveryRate), f0(without.DeliveryRate), ratio, bl.Events)
			t.Met = met(ratio >= 0.9)
		} else {
			t.Got = "incomplete scenario"
		}
	}
	r.Targets = append(r.Targets, t)
	t = targetResult{Name: "peak RSS of hookd with the backlog", Want: "≤ 256 MiB", Got: "not measured"}
	if e != nil && e.PeakRSSMiB > 0 {
		bl := r.phase("e backlog build-up")
		t.Got = fmt.Sprintf("%.0f MiB", e.PeakRSSMiB)
		if bl != nil && !bl.TimedOut {
			t.Met = met(e.PeakRSSMiB <= 256)
		} else {
			t.Got += " (backlog incomplete)"
		}
	}
	r.Targets = append(r.Targets, t)
	r.compareSetups(add)

	alone, beside := r.phase("f healthy alone"), r.phase("f healthy beside hostile")
	t = targetResult{Name: "healthy p99 beside a hostile backlog (f)", Want: "≤ 2 × alone + 100 ms", Got: "not measured"}
	if f := r.scenario("f"); f != nil {
		t.Got = "incomplete scenario"
		if complete(alone) && complete(beside) && alone.Latency != nil && beside.Latency != nil {
			want := 2*alone.Latency.P99MS + 100
			t.Got = fmt.Sprintf("p99 %.1f ms (p50 %.1f) vs alone %.1f ms (p50 %.1f): limit %.1f ms",
				beside.Latency.P99MS, beside.Latency.P50MS, alone.Latency.P99MS, alone.Latency.P50MS, want)
			t.Met = met(beside.Latency.P99MS <= want)
		}
	}
	r.Targets = append(r.Targets, t)
	t = targetResult{Name: "hostile messages attempted on schedule (f)", Want: "≥ 0.8 × bound; resets: all", Got: "not measured"}
	if f := r.scenario("f"); f != nil && f.Extra["hostile_seconds"] > 0 {
		x := f.Extra
		t.Got = fmt.Sprintf("hang/trickle ≥ %.0f each (bound %.1f: one at a time); reset ≥ %.0f of %.0f each",
			x["hostile_slow_attempted_min"], x["hostile_slow_bound"], x["hostile_reset_attempted_min"], x["hostile_backlog_each"])
		t.Met = met(x["hostile_slow_attempted_min"] >= 0.8*math.Floor(x["hostile_slow_bound"]) &&
			x["hostile_reset_attempted_min"] >= x["hostile_backlog_each"])
	}
	r.Targets = append(r.Targets, t)

	if r.Fatal != "" {
		r.Checks = append(r.Checks, checkResult{Name: "run", OK: false, Detail: r.Fatal})
	}
	for _, s := range r.Scenarios {
		if s.Error != "" {
			name := "scenario " + s.Name + " finished"
			if s.Setup != "" {
				name += " [" + s.Setup + "]"
			}
			r.Checks = append(r.Checks, checkResult{Name: name, OK: false, Detail: s.Error})
		}
		for _, p := range s.Phases {
			if strings.HasPrefix(p.Name, "e backlog") {
				r.Checks = append(r.Checks, checkResult{Name: p.label() + ": every backlog message attempted", OK: !p.TimedOut,
					Detail: fmt.Sprintf("%d of %d", p.Delivered, p.Events)})
			} else {
				d := fmt.Sprintf("%d of %d delivered", p.Delivered, p.Deliveries)
				name := p.label() + ": nothing lost"
				switch {
				case p.HookdStopped != "":
					name = p.label() + ": hookd kept running"
					d += fmt.Sprintf("; hookd stopped before the rest was delivered (%s); not judged as loss", p.HookdStopped)
				case p.Lost > 0:
					d += fmt.Sprintf("; %d lost, e.g. seq %v", p.Lost, p.LostSample)
				}
				r.Checks = append(r.Checks, checkResult{Name: name, OK: p.Lost == 0 && !p.TimedOut && p.Events > 0, Detail: d})
			}
			if strings.HasPrefix(p.Name, "c ") || p.OrderViolations > 0 {
				r.Checks = append(r.Checks, checkResult{Name: p.label() + ": group order kept", OK: p.OrderViolations == 0,
					Detail: fmt.Sprintf("%d violations %s", p.OrderViolations, strings.Join(p.OrderSamples, "; "))})
			}
			if p.PublishErrors > 0 {
				r.Checks = append(r.Checks, checkResult{Name: p.label() + ": every publish accepted", OK: false,
					Detail: fmt.Sprintf("%d failed requests, first: %s", p.PublishErrors, p.PublishFirstErr)})
			}
		}
	}
	r.Pass = true
	for _, c := range r.Checks {
		r.Pass = r.Pass && c.OK
	}
}

// compareSetups adds the targets of issue 15 that compare the stores and
// node counts of one run, on the backlog phase of scenario a: PostgreSQL
// on one node at least half the SQLite rate, more nodes no slower than
// one.
func (r *results) compareSetups(add func(name, want string, p *phaseResult, got func(*phaseResult) (string, bool))) {
	labels := r.setupLabels()
	one := r.phaseIn("a backlog", "pg×1")
	if sq := r.phaseIn("a backlog", "sqlite"); sq != nil && one != nil {
		add("PostgreSQL, 1 node, vs SQLite (a backlog)", "≥ 0.5 × SQLite", one, func(p *phaseResult) (string, bool) {
			if !complete(sq) || sq.DeliveryRate == 0 {
				return "SQLite phase incomplete", false
			}
			ratio := p.DeliveryRate / sq.DeliveryRate
			return fmt.Sprintf("%s/s vs %s/s = %.2f", f0(p.DeliveryRate), f0(sq.DeliveryRate), ratio), ratio >= 0.5
		})
	}
	for _, l := range labels {
		n, ok := strings.CutPrefix(l, "pg×")
		if !ok || n == "1" || one == nil {
			continue
		}
		add("PostgreSQL, "+n+" nodes, vs 1 node (a backlog)", "≥ 1.0 × 1 node", r.phaseIn("a backlog", l), func(p *phaseResult) (string, bool) {
			if !complete(one) || one.DeliveryRate == 0 {
				return "1-node phase incomplete", false
			}
			ratio := p.DeliveryRate / one.DeliveryRate
			return fmt.Sprintf("%s/s vs %s/s = %.2f", f0(p.DeliveryRate), f0(one.DeliveryRate), ratio), ratio >= 1
		})
	}
}

func f0(v float64) string {
	if v == 0 {
		return "-"
	}
	s := fmt.Sprintf("%.0f", v)
	// thousands separators for readability
	n := len(s)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (n-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// print writes the human-readable report.
func (r *results) print(w io.Writer) {
	fmt.Fprintf(w, "\nhookd-bench  %s  %d × %s  %s  db=%v  workers=%v\n", r.Date, r.Machine.NumCPU, r.Machine.CPUModel,
		r.Machine.GoVersion, r.Settings["db"], r.Settings["workers"])
	fmt.Fprintf(w, "command: %s\nhookd: %s\n\n", r.Command, r.Source)
	if r.Limit.Rate > 0 {
		fmt.Fprintf(w, "LIMIT  raw Go client → loopback receiver, %d keep-alive connections, %.0f-byte signed bodies: %s requests/s (%d in %.1fs, %d errors)\n\n",
			r.Limit.Conns, r.Limit.BodyBytes, f0(r.Limit.Rate), r.Limit.Requests, r.Limit.Seconds, r.Limit.Errors)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\tevents\tdeliveries\tpublish/s\tdelivered/s\t× limit\tdrain/s\tp50 ms\tp99 ms\tmax ms\tlost\tdup\torder\thookd µs/delivery\t")
	for _, s := range r.Scenarios {
		for _, p := range s.Phases {
			p50, p99, mx := "-", "-", "-"
			if p.Latency != nil {
				p50, p99, mx = fmt.Sprintf("%.1f", p.Latency.P50MS), fmt.Sprintf("%.1f", p.Latency.P99MS), fmt.Sprintf("%.1f", p.Latency.MaxMS)
			}
			ratio := "-"
			if p.RatioToLimit > 0 {
				ratio = fmt.Sprintf("%.2f", p.RatioToLimit)
			}
			to := ""
			if p.TimedOut {
				to = " (TIMEOUT)"
			}
			if p.HookdStopped != "" {
				to = " (HOOKD STOPPED)"
			}
			cpu := "-"
			if p.CPUPerDeliveryUS > 0 {
				cpu = f0(p.CPUPerDeliveryUS)
			}
			fmt.Fprintf(tw, "%s%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t\n", p.label(), to, p.Events, p.Deliveries,
				f0(p.PublishRate), f0(p.DeliveryRate), ratio, f0(p.DrainRate), p50, p99, mx, p.Lost, p.DupRedeliveries+p.DupMessages, p.OrderViolations, cpu)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\twall s\thookd CPU s\thookd cores\tbench CPU s\tpeak RSS MiB\t")
	for _, s := range r.Scenarios {
		cores := 0.0
		if s.WallSeconds > 0 {
			cores = s.HookdCPUSeconds / s.WallSeconds
		}
		name := s.Name
		if s.Setup != "" {
			name += " [" + s.Setup + "]"
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.2f\t%.1f\t%.0f\t\n", name, s.WallSeconds, s.HookdCPUSeconds, cores, s.BenchCPUSeconds, s.PeakRSSMiB)
	}
	tw.Flush()
	r.printDB(w)

	var notes []string
	for _, s := range r.Scenarios {
		for _, n := range s.Notes {
			notes = append(notes, s.Name+": "+n)
		}
		for _, p := range s.Phases {
			for _, n := range p.Notes {
				notes = append(notes, p.Name+": "+n)
			}
			if p.PublishErrors > 0 {
				notes = append(notes, fmt.Sprintf("%s: %d publish requests failed, first: %s", p.Name, p.PublishErrors, p.PublishFirstErr))
			}
			if p.Throttled > 0 {
				notes = append(notes, fmt.Sprintf("%s: %d publish requests answered 429 and were retried", p.Name, p.Throttled))
			}
		}
		if len(s.Extra) > 0 {
			var kv []string
			for _, k := range sortedKeys(s.Extra) {
				kv = append(kv, fmt.Sprintf("%s=%.2f", k, s.Extra[k]))
			}
			notes = append(notes, s.Name+": "+strings.Join(kv, " "))
		}
	}
	if p := r.phase("a backlog"); p != nil && p.AvgBodyBytes > 0 {
		notes = append(notes, fmt.Sprintf("body size: limit client %.0f bytes, hookd (a backlog) %.0f bytes", r.Limit.BodyBytes, p.AvgBodyBytes))
	}
	notes = append(notes, "delivered/s: deliveries ÷ (last receipt − first publish); drain/s: deliveries after the last publish answer ÷ the time they took")
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		for _, n := range notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}

	fmt.Fprintln(w, "\ntargets:")
	for _, t := range r.Targets {
		mark := "n/a   "
		if t.Met != nil {
			mark = map[bool]string{true: "MET   ", false: "MISSED"}[*t.Met]
		}
		fmt.Fprintf(w, "  %s  %-45s want %-28s got %s\n", mark, t.Name, t.Want, t.Got)
	}
	fmt.Fprintln(w, "\nchecks:")
	for _, c := range r.Checks {
		mark := map[bool]string{true: "ok  ", false: "FAIL"}[c.OK]
		fmt.Fprintf(w, "  %s  %s  %s\n", mark, c.Name, c.Detail)
	}
	fmt.Fprintf(w, "\nresult: %s\n", map[bool]string{true: "PASS (nothing lost, order kept)", false: "FAIL"}[r.Pass])
}

func sortedKeys(m map[string]float64) []string { return slices.Sorted(maps.Keys(m)) }

// printDB writes what the PostgreSQL server spent per phase, when any
// phase ran on it: its CPU per delivery, deliveries per second of its CPU,
// the commits per delivery, and the time its backends waited for locks.
func (r *results) printDB(w io.Writer) {
	var some bool
	for _, s := range r.Scenarios {
		for _, p := range s.Phases {
			some = some || p.DB != nil
		}
	}
	if !some {
		return
	}
	fmt.Fprintln(w, "\nPostgreSQL server, per phase (CPU from /proc of the postmaster and its children; lock waits sampled every 25 ms from pg_stat_activity):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\tnodes\tdb CPU s\tdb µs/delivery\tdeliveries/db CPU s\thookd µs/delivery\tcommits/delivery\tlock wait µs/delivery\tlock waits by kind (s)\t")
	for _, s := range r.Scenarios {
		for _, p := range s.Phases {
			if p.DB == nil {
				continue
			}
			var kinds []string
			for _, k := range sortedKeys(p.DB.LockWaits) {
				kinds = append(kinds, fmt.Sprintf("%s %.2f", k, p.DB.LockWaits[k]))
			}
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%.2f\t%.1f\t%s\t\n", p.label(), p.Nodes, p.DB.CPUSeconds,
				f0(p.DBCPUPerDeliveryUS), f0(p.DeliveriesPerDBCPUS), f0(p.CPUPerDeliveryUS), p.CommitsPerDelivery,
				p.LockWaitPerDelivery, strings.Join(kinds, ", "))
		}
	}
	tw.Flush()
}

// report evaluates, prints, writes JSON and returns the exit code.
func (b *bench) report(r *results, stdout, stderr io.Writer) int {
	r.evaluate()
	r.print(stdout)
	if b.cfg.jsonPath != "" {
		data, err := json.MarshalIndent(r, "", "  ")
		if err == nil {
			err = os.WriteFile(b.cfg.jsonPath, append(data, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "hookd-bench: write %s: %v\n", b.cfg.jsonPath, err)
			return 1
		}
	}
	if !r.Pass {
		return 1
	}
	if b.cfg.strict {
		for _, t := range r.Targets {
			if t.Met != nil && !*t.Met {
				return 3
			}
		}
	}
	return 0
}
