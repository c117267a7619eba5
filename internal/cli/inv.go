package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd/client"
)

// errHelp: --help was asked for and printed.
var errHelp = flag.ErrHelp

// inv is one run of a verb: its flags and arguments, and, once parsed,
// the client, the tenant and the positional arguments.
type inv struct {
	ctx  context.Context
	env  Env
	cmd  string // "hookd webhooks create", for messages
	verb verb
	args []string // the command line after the verb

	fs    *flag.FlagSet
	intro string // the verb's help text, after its usage line

	server, token, tenant string
	json                  bool
	field                 string // --field: print only this field of the answer
	c                     *client.Client
	pos                   []string        // the positional arguments
	set                   map[string]bool // the flags given
	// answers are the bodies of the verb's 2xx answers as the server
	// sent them, in order, for --json (see printJSON).
	answers [][]byte
}

// flags returns the verb's flag set, made on first use: a verb defines its
// own flags on it before parse.
func (x *inv) flags() *flag.FlagSet {
	if x.fs == nil {
		x.fs = flag.NewFlagSet(x.cmd, flag.ContinueOnError)
		x.fs.SetOutput(io.Discard)
		x.fs.Usage = func() {}
	}
	return x.fs
}

// need says what parse must set up.
type need int

const (
	needServer need = 1 << iota // a server
	needToken                   // and a token
	needTenant                  // and a tenant

	needClient = needServer | needToken
)

// parse reads the command line: flags anywhere among nargs positional
// arguments (named by x.verb.args), the common flags, and the client and
// tenant as n says. --help prints the verb's usage and returns errHelp.
func (x *inv) parse(n need, nargs int) error {
	fs := x.flags()
	if n&needServer != 0 {
		fs.StringVar(&x.server, "server", "", "hookd's base URL (HOOKD_SERVER; default "+DefaultServer+")")
	}
	if n&needToken != 0 {
		fs.StringVar(&x.token, "token", "", "the root token or a tenant's API key (HOOKD_TOKEN)")
	}
	if n&needTenant != 0 {
		fs.StringVar(&x.tenant, "tenant", "", "the tenant (HOOKD_TENANT; default: the API key's tenant)")
	}
	fs.BoolVar(&x.json, "json", false, "print the server's JSON answer as sent instead of a table")
	fs.StringVar(&x.field, "field", "", "print only this field of the answer (of each item of a list), "+
		"strings as they are and arrays an item a line: --field token, --field id")
	pos, err := parseInterleaved(fs, x.args)
	if errors.Is(err, flag.ErrHelp) {
		x.help()
		return errHelp
	} else if err != nil {
		return usagef("%v", err)
	}
	x.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { x.set[f.Name] = true })
	if len(pos) != nargs {
		switch {
		case len(pos) < nargs:
			return usagef("missing %s", strings.Fields(x.verb.args)[len(pos)])
		default:
			return usagef("unexpected argument %q", pos[nargs])
		}
	}
	for i, p := range pos {
		if strings.TrimSpace(p) == "" {
			return usagef("%s may not be empty", strings.Fields(x.verb.args)[i])
		}
	}
	x.pos = pos
	if n&needServer == 0 {
		return nil
	}
	if x.server == "" {
		x.server = x.env.Getenv("HOOKD_SERVER")
	}
	if x.server == "" {
		x.server = DefaultServer
	}
	if x.token == "" && n&needToken != 0 {
		x.token = strings.TrimSpace(x.env.Getenv("HOOKD_TOKEN"))
		if x.token == "" {
			return usagef("no token: give --token or set HOOKD_TOKEN (the root token is in <data-dir>/root-token, an API key comes from 'hookd keys create')")
		}
	}
	c, err := client.New(x.server, client.WithToken(x.token), client.WithUserAgent(userAgent()),
		client.WithAcceptLanguage(acceptLanguage(x.env.Getenv("LANG"))))
	if err != nil {
		return usagef("--server %q: want http(s)://host[:port]", x.server)
	}
	x.c = c
	x.ctx = client.WithAnswerFunc(x.ctx, func(body []byte) { x.answers = append(x.answers, body) })
	if n&needTenant == 0 {
		return nil
	}
	if x.tenant == "" {
		x.tenant = x.env.Getenv("HOOKD_TENANT")
	}
	if x.tenant != "" {
		return nil
	}
	// Every tenant's path names it: an API key belongs to one, and says
	// which; the root token may act on any.
	w, err := x.c.Whoami(x.ctx)
	if err != nil {
		return err
	}
	if w.Key == nil {
		return usagef("which tenant? The root token may act on any: give --tenant or set HOOKD_TENANT")
	}
	x.tenant = w.Key.TenantID
	x.answers = nil // the verb's own answers follow
	return nil
}

// help prints the verb's usage and flags to stdout.
func (x *inv) help() {
	w := x.env.Stdout
	usage := x.cmd
	if x.verb.args != "" {
		usage += " " + x.verb.args
	}
	fmt.Fprintf(w, "Usage: %s [flags]\n\n", usage)
	if x.intro != "" {
		fmt.Fprintf(w, "%s\n\n", x.intro)
	} else if x.verb.summary != "" {
		fmt.Fprintf(w, "%s.\n\n", strings.ToUpper(x.verb.summary[:1])+x.verb.summary[1:])
	}
	fmt.Fprintln(w, "Flags:")
	x.fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		if name != "" {
			name = " " + name
		}
		fmt.Fprintf(w, "  --%s%s\n      %s%s\n", f.Name, name, usage, def)
	})
}

// parseInterleaved parses flags given before, between and after the
// positional arguments, which it returns ("--" ends the flags).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// readData reads a --data value: JSON itself, @file, or @- for standard
// input.
func (x *inv) readData(v string) ([]byte, error) {
	switch {
	case v == "@-":
		b, err := io.ReadAll(x.env.Stdin)
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		return b, nil
	case strings.HasPrefix(v, "@"):
		b, err := os.ReadFile(v[1:])
		if err != nil {
			return nil, usagef("%v", err)
		}
		return b, nil
	}
	return []byte(v), nil
}

// decodeData decodes the --data flag (if given) into v, refusing fields
// v does not have, so that a misspelt field is not silently dropped.
func (x *inv) decodeData(data string, v any) error {
	if !x.set["data"] {
		return nil
	}
	b, err := x.readData(data)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return usagef("--data: %v", err)
	}
	if dec.More() {
		return usagef("--data: more than one JSON value")
	}
	return nil
}

// rawJSON reads a flag whose value is JSON (or @file, @-) as is, checking
// that it is JSON.
func (x *inv) rawJSON(flagName, v string) (json.RawMessage, error) {
	b, err := x.readData(v)
	if err != nil {
		return nil, err
	}
	if !json.Valid(b) {
		return nil, usagef("--%s: not valid JSON: %s", flagName, snippet(b))
	}
	return json.RawMessage(bytes.TrimSpace(b)), nil
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}

// listFlag is a flag that may be repeated; with split, each value may
// also hold several, separated by commas.
type listFlag struct {
	v     []string
	split bool
}

func (l *listFlag) String() string { return strings.Join(l.v, ",") }
func (l *listFlag) Set(s string) error {
	if !l.split {
		l.v = append(l.v, s)
		return nil
	}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			l.v = append(l.v, p)
		}
	}
	return nil
}

// mapFlag collects repeated name=value flags.
type mapFlag map[string]string

func (m mapFlag) String() string { return "" }
func (m mapFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return errors.New("want name=value")
	}
	m[k] = v
	return nil
}

// headerFlag collects repeated "Name: value" headers.
type headerFlag map[string][]string

func (h headerFlag) String() string { return "" }
func (h headerFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(k) == "" {
		return errors.New(`want "Name: value"`)
	}
	k = strings.TrimSpace(k)
	h[k] = append(h[k], strings.TrimSpace(v))
	return nil
}

// timeFlag is an RFC 3339 time, or a duration back from now ("1h").
type timeFlag struct{ t *time.Time }

func (f timeFlag) String() string {
	if f.t == nil || f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}
func (f timeFlag) Set(s string) error {
	if d, err := time.ParseDuration(s); err == nil {
		*f.t = time.Now().Add(-d)
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return errors.New("want an RFC 3339 time (2026-12-03T17:00:00Z) or a duration back from now (90m)")
	}
	*f.t = t
	return nil
}

// listFlags are the paging flags of every list.
type listFlags struct {
	limit  int
	cursor string
	all    bool
}

func (x *inv) listFlags() *listFlags {
	l := &listFlags{}
	fs := x.flags()
	fs.IntVar(&l.limit, "limit", 0, "items per page, 1..1000 (default: the server's, 50)")
	fs.StringVar(&l.cursor, "cursor", "", "the next_cursor of the page before")
	fs.BoolVar(&l.all, "all", false, "every page, not just one")
	return l
}

func (l *listFlags) options() client.ListOptions {
	return client.ListOptions{Limit: l.limit, Cursor: l.cursor}
}

// boolPtr returns the value of a bool flag if it was given, else nil.
func (x *inv) boolPtr(name string, v bool) *bool {
	if !x.set[name] {
		return nil
	}
	return &v
}

// durations parses a comma-separated list of durations ("1m,5m,1h").
func durations(s string) ([]client.Duration, error) {
	var out []client.Duration
	for _, p := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(p))
		if err != nil {
			return nil, err
		}
		out = append(out, client.Duration(d))
	}
	return out, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// acceptLanguage turns a POSIX locale ("de_DE.UTF-8") into the language
// tag the server's problem texts are chosen by ("de-DE").
func acceptLanguage(lang string) string {
	lang, _, _ = strings.Cut(lang, ".")
	lang, _, _ = strings.Cut(lang, "@")
	if lang == "C" || lang == "POSIX" {
		return ""
	}
	return strings.ReplaceAll(lang, "_", "-")
}
