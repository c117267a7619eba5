package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// What the PostgreSQL server spends. On a machine where the hookd nodes,
// the server and the benchmark share the cores, a delivery rate says
// little about what more nodes would do on machines of their own; the
// server's CPU per delivery and the time its backends wait for locks do:
// the first bounds the rate the server can carry, the second is the part
// of the work that nodes do one after the other.

// freshSchema creates an empty schema for one scenario on the server of
// dbURL (dropped when the run ends, unless --keep) and returns dbURL with
// search_path set to it, so that every setup starts from an empty store.
func (b *bench) freshSchema(ctx context.Context, dbURL, name string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", fmt.Errorf("--db: %w", err)
	}
	admin, err := sql.Open("pgx", dbURL)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	schema := fmt.Sprintf("hookd_bench_%s_%s", strings.ReplaceAll(name, "-", "_"), randHex(4))
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", fmt.Errorf("create schema for the scenario: %w", err)
	}
	b.mu.Lock()
	b.schemas = append(b.schemas, schema)
	b.mu.Unlock()
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// dropSchemas drops the schemas freshSchema created.
func (b *bench) dropSchemas(dbURL string) {
	b.mu.Lock()
	schemas := b.schemas
	b.schemas = nil
	b.mu.Unlock()
	if len(schemas) == 0 {
		return
	}
	admin, err := sql.Open("pgx", dbURL)
	if err != nil {
		return
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, s := range schemas {
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+s+" CASCADE"); err != nil {
			fmt.Fprintf(b.log, "hookd-bench: drop schema %s: %v\n", s, err)
		}
	}
}

// dbProbe watches the PostgreSQL server of a scenario: its CPU time from
// /proc (the postmaster, its live children, and its children that ended),
// its committed transactions (pg_stat_database), and, sampled every
// probeInterval from pg_stat_activity, how many of the database's
// backends wait for a lock.
type dbProbe struct {
	conn       *sql.DB
	postmaster int // pid; 0 when /proc does not show it (another machine)
	stop       chan struct{}
	done       chan struct{}

	mu      sync.Mutex
	samples int                // pg_stat_activity samples taken
	waits   map[string]float64 // seconds waited, by wait event ("advisory", "tuple", …)
	active  float64            // backend-seconds active (running or waiting)
}

// probeInterval is how often the probe samples pg_stat_activity.
const probeInterval = 25 * time.Millisecond

// dbSnap is the probe's counters at one moment.
type dbSnap struct {
	at      time.Time
	cpu     float64 // server CPU seconds; 0 when unknown
	commits int64
	waits   map[string]float64
	active  float64
}

// openProbe connects to the database of dbURL and starts sampling.
func openProbe(ctx context.Context, dbURL string) (*dbProbe, error) {
	conn, err := sql.Open("pgx", dbURL)
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(2)
	var backend int
	if err := conn.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		conn.Close()
		return nil, fmt.Errorf("probe the database: %w", err)
	}
	p := &dbProbe{conn: conn, stop: make(chan struct{}), done: make(chan struct{}), waits: map[string]float64{}}
	if st, err := readStat(backend); err == nil {
		p.postmaster = st.ppid
	}
	go p.sample()
	return p, nil
}

// close stops sampling and disconnects; a nil probe is fine.
func (p *dbProbe) close() {
	if p == nil {
		return
	}
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	<-p.done
	p.conn.Close()
}

func (p *dbProbe) sample() {
	defer close(p.done)
	tick := time.NewTicker(probeInterval)
	defer tick.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-p.stop; cancel() }()
	// Every active backend of the database but this one, and of those
	// the ones waiting for a lock (wait_event_type Lock: advisory, tuple,
	// transactionid, relation), by what they wait for.
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		rows, err := p.conn.QueryContext(ctx, `SELECT CASE WHEN wait_event_type = 'Lock' THEN wait_event ELSE '' END, count(*)
			FROM pg_stat_activity WHERE datname = current_database() AND pid != pg_backend_pid() AND state = 'active'
			GROUP BY 1`)
		if err != nil {
			continue
		}
		dt := probeInterval.Seconds()
		p.mu.Lock()
		p.samples++
		for rows.Next() {
			var ev string
			var n int
			if rows.Scan(&ev, &n) == nil {
				p.active += float64(n) * dt
				if ev != "" {
					p.waits[ev] += float64(n) * dt
				}
			}
		}
		p.mu.Unlock()
		rows.Close()
	}
}

// snap returns the probe's counters now; a nil probe returns a zero snap.
func (p *dbProbe) snap(ctx context.Context) dbSnap {
	s := dbSnap{at: time.Now()}
	if p == nil {
		return s
	}
	s.cpu = p.serverCPU()
	_ = p.conn.QueryRowContext(ctx, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").Scan(&s.commits)
	p.mu.Lock()
	s.waits = make(map[string]float64, len(p.waits))
	for k, v := range p.waits {
		s.waits[k] = v
	}
	s.active = p.active
	p.mu.Unlock()
	return s
}

// serverCPU returns the CPU seconds of the postmaster and of every child
// it has: those running (read from /proc) and those that ended (the
// postmaster's cutime and cstime count them once it has reaped them).
func (p *dbProbe) serverCPU() float64 {
	if p.postmaster == 0 {
		return 0
	}
	pm, err := readStat(p.postmaster)
	if err != nil {
		return 0
	}
	total := pm.cpu + pm.children
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil && st.ppid == p.postmaster {
			total += st.cpu
		}
	}
	return total
}

// procStat is what readStat reads of /proc/<pid>/stat.
type procStat struct {
	ppid     int
	cpu      float64 // utime + stime, seconds
	children float64 // cutime + cstime, seconds
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("short /proc/%d/stat", pid)
	}
	var v [4]float64
	for i := range v {
		v[i], _ = strconv.ParseFloat(f[11+i], 64)
	}
	ppid, _ := strconv.Atoi(f[1])
	return procStat{ppid: ppid, cpu: (v[0] + v[1]) / clockTicks, children: (v[2] + v[3]) / clockTicks}, nil
}

// dbUse is what the server spent between two snaps, for a phase.
type dbUse struct {
	CPUSeconds      float64            `json:"cpu_seconds"`
	Commits         int64              `json:"commits"`
	LockWaitSeconds float64            `json:"lock_wait_seconds"`
	LockWaits       map[string]float64 `json:"lock_wait_seconds_by_event,omitempty"`
	ActiveSeconds   float64            `json:"backend_active_seconds"`
}

func (a dbSnap) to(b dbSnap) *dbUse {
	u := &dbUse{Commits: b.commits - a.commits, ActiveSeconds: b.active - a.active}
	if a.cpu > 0 && b.cpu > 0 {
		u.CPUSeconds = b.cpu - a.cpu
	}
	for k, v := range b.waits {
		if d := v - a.waits[k]; d > 0 {
			if u.LockWaits == nil {
				u.LockWaits = map[string]float64{}
			}
			u.LockWaits[k] = d
			u.LockWaitSeconds += d
		}
	}
	return u
}
