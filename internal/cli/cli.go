// Package cli is hookd's command line client: `hookd <noun> <verb>`
// against a running hookd, built on package client. Each noun (tenants,
// keys, webhooks, events, event-types, messages, portal-links) has a file
// of its own; listen.go forwards a tenant's event stream to a local URL.
//
// People get aligned tables, scripts --json (the server's JSON answer as
// it was sent, fields this CLI does not know included).
// Exit status: 0 done, 1 the server refused or could not be reached (the
// problem's title, detail and every field error on stderr), 2 a mistake
// in the command line.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/client"
)

// DefaultServer is the server a command talks to without --server or
// HOOKD_SERVER: hookd serve's default address.
const DefaultServer = "http://127.0.0.1:8080"

// Env is what a command reads and writes besides its arguments.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// Nouns lists the commands of this package, as `hookd <noun>` takes them.
func Nouns() []string {
	out := make([]string, 0, len(nouns))
	for name := range nouns {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// IsNoun reports whether name is one of Nouns.
func IsNoun(name string) bool {
	_, ok := nouns[name]
	return ok
}

// verb is one operation of a noun.
type verb struct {
	name, args, summary string
	run                 func(x *inv) error
}

// noun is a group of verbs on one resource.
type noun struct {
	summary string
	verbs   []verb
	// run, if set, is the noun's own command (listen, whoami), which takes
	// no verb.
	run func(x *inv) error
}

// nouns is every command of this package, filled in by the nouns' files.
var nouns = map[string]*noun{}

// Run runs `hookd <args…>`, args[0] being one of Nouns, and returns the
// exit status.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	name := args[0]
	n, ok := nouns[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "hookd: unknown command %q\n", name)
		return 2
	}
	x := &inv{ctx: ctx, env: env, cmd: "hookd " + name}
	var run func(x *inv) error
	switch {
	case n.run != nil:
		run, x.args = n.run, args[1:]
	case len(args) < 2 || isHelp(args[1]):
		w := env.Stdout
		code := 0
		if len(args) < 2 {
			w, code = env.Stderr, 2
		}
		nounHelp(w, name, n)
		return code
	default:
		for _, v := range n.verbs {
			if v.name == args[1] {
				run, x.verb = v.run, v
			}
		}
		if run == nil {
			fmt.Fprintf(env.Stderr, "hookd %s: unknown verb %q\n\n", name, args[1])
			nounHelp(env.Stderr, name, n)
			return 2
		}
		x.cmd += " " + args[1]
		x.args = args[2:]
	}
	err := run(x)
	return x.report(err)
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "--help", "-help", "help":
		return true
	}
	return false
}

// nounHelp lists a noun's verbs.
func nounHelp(w io.Writer, name string, n *noun) {
	fmt.Fprintf(w, "Usage: hookd %s <verb> [arguments] [flags]\n\n%s\n\nVerbs:\n", name, n.summary)
	width := 0
	for _, v := range n.verbs {
		width = max(width, len(v.name)+1+len(v.args))
	}
	for _, v := range n.verbs {
		fmt.Fprintf(w, "  %-*s  %s\n", width, strings.TrimSpace(v.name+" "+v.args), v.summary)
	}
	fmt.Fprintf(w, "\nRun 'hookd %s <verb> --help' for a verb's flags.\n%s", name, commonHelp)
}

// commonHelp ends every command's help.
const commonHelp = `
Every command takes --server (HOOKD_SERVER, default ` + DefaultServer + `), --token
(HOOKD_TOKEN: the root token or a tenant's API key), --tenant (HOOKD_TENANT;
with an API key it defaults to the key's tenant) and --json (print the server's
JSON answer as sent instead of a table). Exit status: 0 done, 1 refused by the server or
unreachable, 2 a mistake in the command line.
`

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// report prints err as the exit status says and returns that status.
func (x *inv) report(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(x.env.Stderr, "%s: %s\nRun '%s --help' for its usage.\n", x.cmd, ue.msg, x.cmd)
		return 2
	}
	if e := client.AsError(err); e != nil {
		printProblem(x.env.Stderr, e)
		return 1
	}
	fmt.Fprintf(x.env.Stderr, "hookd: %s\n", strings.TrimPrefix(err.Error(), "hookd client: "))
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		fmt.Fprintf(x.env.Stderr, "Is hookd running at %s? Give its address with --server or HOOKD_SERVER.\n", x.server)
	}
	return 1
}

// printProblem writes a problem document for people: the status and
// title, the detail, and each invalid field on a line of its own.
func printProblem(w io.Writer, e *client.Error) {
	fmt.Fprintf(w, "hookd: %d %s", e.Status, e.Title)
	if e.Detail != "" {
		fmt.Fprintf(w, ": %s", e.Detail)
	}
	fmt.Fprintln(w)
	for _, f := range e.Errors {
		fmt.Fprintf(w, "  %s: %s\n", f.Field, f.Message)
	}
	if e.ExistingID != "" {
		fmt.Fprintf(w, "  existing: %s\n", e.ExistingID)
	}
}

// userAgent is the User-Agent of the CLI's requests.
func userAgent() string { return "hookd-cli/" + hookd.Version }
