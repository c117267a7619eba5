package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hookd/hookd/internal/seal"
)

// buildHookd compiles ./cmd/hookd into dir and returns the binary's path.
func buildHookd(ctx context.Context, dir string) (string, error) {
	// Not named "hookd": other sessions on a shared machine may clean up
	// their own hookd processes by name (killall hookd, pkill -f "hookd serve").
	bin := filepath.Join(dir, "hookd-under-bench")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/hookd")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/hookd: %v\n%s", err, out)
	}
	return bin, nil
}

// hookdProc is one running hookd child process.
type hookdProc struct {
	cmd     *exec.Cmd
	base    string
	dataDir string
	logPath string
	logFile *os.File
	done    chan struct{}
	waitErr error
	token   string
	// debug is the base URL of hookd's pprof listener ("" when not asked
	// for with --cpuprofile).
	debug string
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// childEnv is the environment without HOOKD_* variables, so that nothing
// of the caller's shell changes the configuration under test.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOOKD_") {
			env = append(env, kv)
		}
	}
	return env
}

// startHookd runs `hookd serve` on store db ("" for the embedded store in
// its data directory) on a fresh data directory under dir, with root token
// token, and waits until /readyz answers 200.
func startHookd(ctx context.Context, cfg *config, bin, dir, name, db, token string) (*hookdProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &hookdProc{
		base:    "http://" + addr,
		dataDir: filepath.Join(dir, "data-"+name),
		logPath: filepath.Join(dir, "hookd-"+name+".log"),
		done:    make(chan struct{}),
		token:   token,
	}
	if err := os.MkdirAll(p.dataDir, 0o700); err != nil {
		return nil, err
	}
	args := []string{"serve", "--addr", addr, "--data-dir", p.dataDir, "--dev",
		"--retry-schedule", cfg.retrySchedule, "--workers", strconv.Itoa(cfg.workers),
		"--log-level", cfg.hookdLogLevel, "--root-token", token}
	if db != "" {
		args = append(args, "--db", db)
	}
	if isPostgres(db) {
		// hookd needs a key file on PostgreSQL; one per run, shared by
		// its hookd processes.
		key := filepath.Join(dir, "encryption-key")
		if _, err := seal.CreateKeyFile(key); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		args = append(args, "--encryption-key-file", key)
	}
	if cfg.cpuProfile != "" {
		daddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		p.debug = "http://" + daddr
		args = append(args, "--debug-addr", daddr)
	}
	args = append(args, cfg.hookdArgs...)
	p.logFile, err = os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = childEnv()
	p.cmd.Stdout, p.cmd.Stderr = p.logFile, p.logFile
	// If the benchmark dies without cleaning up, the kernel kills hookd.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		p.logFile.Close()
		return nil, fmt.Errorf("start hookd: %w", err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()

	deadline := time.Now().Add(60 * time.Second)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("hookd not ready after 60s; log:\n%s", p.logTail(20))
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("hookd exited at start (%v); log:\n%s", p.waitErr, p.logTail(20))
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := hc.Get(p.base + "/readyz")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return p, nil
		}
	}
}

// isPostgres reports whether db is a PostgreSQL URL.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// cluster is the hookd processes of one scenario: one, or several sharing
// one PostgreSQL database. It is used as node 0 (its API address, token
// and pprof listener) except for what concerns every node: whether all
// run, their CPU time, their memory, stopping them.
type cluster struct {
	*hookdProc // node 0
	nodes      []*hookdProc
}

// stop stops every node.
func (c *cluster) stop() {
	for _, p := range c.nodes {
		p.stop()
	}
}

// alive reports whether every node still runs.
func (c *cluster) alive() bool {
	for _, p := range c.nodes {
		if !p.alive() {
			return false
		}
	}
	return true
}

// cpuSeconds returns the CPU time of all nodes together.
func (c *cluster) cpuSeconds() float64 {
	var s float64
	for _, p := range c.nodes {
		s += p.cpuSeconds()
	}
	return s
}

// memory returns the largest peak and current RSS of any node.
func (c *cluster) memory() (peak, now int64) {
	for _, p := range c.nodes {
		pk, n := p.memory()
		peak, now = max(peak, pk), max(now, n)
	}
	return peak, now
}

// exitReason says how the first node that ended did.
func (c *cluster) exitReason() string {
	for i, p := range c.nodes {
		if !p.alive() {
			if len(c.nodes) > 1 {
				return fmt.Sprintf("node %d: %s", i, p.exitReason())
			}
			return p.exitReason()
		}
	}
	return "running"
}

// logTail returns the last n lines of the log of the first node that
// ended (node 0 while all run).
func (c *cluster) logTail(n int) string {
	for _, p := range c.nodes {
		if !p.alive() {
			return p.logTail(n)
		}
	}
	return c.hookdProc.logTail(n)
}

// stop ends hookd: SIGTERM, then SIGKILL after 10 s. Safe to call twice.
func (p *hookdProc) stop() {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	if p.logFile != nil {
		p.logFile.Close()
		p.logFile = nil
	}
}

// exitReason says how hookd ended, for the report.
func (p *hookdProc) exitReason() string {
	if p.waitErr == nil {
		return "exit status 0: a clean shutdown, i.e. it got SIGTERM or SIGINT from outside the benchmark"
	}
	return p.waitErr.Error()
}

// alive reports whether the process still runs.
func (p *hookdProc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// logTail returns the last n lines of hookd's log.
func (p *hookdProc) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// memory returns VmHWM (peak resident set) and VmRSS of hookd in bytes.
func (p *hookdProc) memory() (peak, now int64) {
	if !p.alive() {
		return 0, 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmHWM" && k != "VmRSS") {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if k == "VmHWM" {
			peak = kb << 10
		} else {
			now = kb << 10
		}
	}
	return peak, now
}

// clockTicks is USER_HZ, 100 on every Linux the benchmark targets.
const clockTicks = 100

// cpuSeconds returns the CPU time (user + system) hookd has used.
func (p *hookdProc) cpuSeconds() float64 {
	if !p.alive() {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; fields start after the last ')'.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks
}

// selfCPUSeconds returns the CPU time of the benchmark process itself.
func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// apiClient calls hookd's REST API with one token.
type apiClient struct {
	base  string
	token string
	hc    *http.Client
}

func newHTTPClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// apiError is a non-2xx answer.
type apiError struct {
	Status int
	Body   string
}

func (e *apiError) Error() string {
	b := e.Body
	if len(b) > 300 {
		b = b[:300] + "…"
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, b)
}

// post sends raw JSON and returns the status, the answer and Retry-After
// (0 when absent).
func (c *apiClient) post(ctx context.Context, path string, body []byte) (int, []byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	var ra time.Duration
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			ra = time.Duration(n) * time.Second
		}
	}
	return resp.StatusCode, b, ra, err
}

// call sends body as JSON and decodes a 2xx answer into out.
func (c *apiClient) call(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	status, resp, _, err := c.post(ctx, path, b)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	if status < 200 || status > 299 {
		return fmt.Errorf("POST %s: %w", path, &apiError{Status: status, Body: string(resp)})
	}
	if out != nil {
		if err := json.Unmarshal(resp, out); err != nil {
			return fmt.Errorf("POST %s: decode %q: %w", path, resp, err)
		}
	}
	return nil
}

// env is the hookd processes of a scenario with a tenant to benchmark in.
type env struct {
	h      *cluster
	api    *apiClient   // the tenant's admin key (or root, see keyNote) on node 0
	apis   []*apiClient // the same key on every node
	tenant string
	note   string
	db     *dbProbe // the PostgreSQL server's CPU and lock waits (nil on SQLite)
}

// apiFor returns the API of the node publishing client c talks to: the
// clients are spread over the nodes.
func (e *env) apiFor(c int) *apiClient { return e.apis[c%len(e.apis)] }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startEnv starts the hookd nodes of setup st for a scenario (on
// PostgreSQL in a schema of their own, see freshSchema), creates a tenant
// and an admin API key for it; events are published with that key, as a
// platform would, spread over the nodes.
func (b *bench) startEnv(ctx context.Context, name string, st setup) (*env, error) {
	db := st.db
	var probe *dbProbe
	if isPostgres(db) {
		var err error
		if db, err = b.freshSchema(ctx, st.db, name); err != nil {
			return nil, err
		}
		if probe, err = openProbe(ctx, db); err != nil {
			return nil, err
		}
	}
	token := "hookd-bench-root-" + randHex(16)
	c := &cluster{}
	for i := range st.nodes {
		h, err := startHookd(ctx, b.cfg, b.bin, b.tmp, fmt.Sprintf("%s-%s-%d", name, st.label, i), db, token)
		if err != nil {
			c.stop()
			probe.close()
			return nil, err
		}
		b.track(h)
		c.nodes = append(c.nodes, h)
	}
	c.hookdProc = c.nodes[0]
	e := &env{h: c, tenant: "bench-" + name + "-" + randHex(3), db: probe}
	fail := func(err error) (*env, error) {
		c.stop()
		probe.close()
		return nil, err
	}
	hc := newHTTPClient(b.cfg.singleClients * 2)
	root := &apiClient{base: c.base, token: token, hc: hc}
	if err := root.call(ctx, "/v1/tenants", map[string]any{"id": e.tenant, "name": "hookd-bench " + name}, nil); err != nil {
		return fail(fmt.Errorf("create tenant: %w", err))
	}
	var key struct {
		Token string `json:"token"`
	}
	err := root.call(ctx, "/v1/tenants/"+e.tenant+"/keys", map[string]any{"name": "bench", "scopes": []string{"admin"}}, &key)
	if err != nil || key.Token == "" {
		e.note = fmt.Sprintf("could not create an API key (%v); published with the root token", err)
		key.Token = token
	}
	for _, h := range c.nodes {
		e.apis = append(e.apis, &apiClient{base: h.base, token: key.Token, hc: hc})
	}
	e.api = e.apis[0]
	return e, nil
}

// stop stops the env's nodes and closes its probe.
func (e *env) stop() {
	e.h.stop()
	e.db.close()
}

// createWebhook registers a webhook in the env's tenant and returns its id.
func (e *env) createWebhook(ctx context.Context, spec map[string]any) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := e.api.call(ctx, "/v1/tenants/"+e.tenant+"/webhooks", spec, &out); err != nil {
		return "", fmt.Errorf("create webhook %v: %w", spec["name"], err)
	}
	if out.ID == "" {
		return "", errors.New("create webhook: no id in the answer")
	}
	return out.ID, nil
}
