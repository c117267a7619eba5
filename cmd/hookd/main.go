// Command hookd is the webhook delivery service: `hookd serve` runs the API
// and the delivery engine on one store; `hookd <noun> <verb>` and `hookd
// listen` are its command line client (package internal/cli).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/cli"
)

func main() {
	setGCPercent(os.Getenv("GOGC"))
	setMemoryLimit(os.Getenv("GOMEMLIMIT"))
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// defaultGCPercent is hookd's garbage collector target when GOGC is not
// set. hookd's live heap is small (tens of MiB even with a million
// messages waiting), so Go's default of 100 collects very often: with 400,
// hookd-bench's scenario a took about 10 % less CPU for the same work and
// peak RSS rose from 40 to about 60 MiB (BENCHMARKS.md).
const defaultGCPercent = 400

// setGCPercent applies defaultGCPercent unless the operator set GOGC, which
// the runtime has already applied then.
func setGCPercent(env string) {
	if env == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
}

// defaultMemoryLimit bounds what the higher GC target may cost: a soft
// limit of the Go heap and runtime, near which the collector runs as often
// as it must. With GC target 400 alone, a fan-out of 1000 events to 100
// webhooks peaked at 215 MiB RSS (hookd-bench scenario b); everything else
// stays far below it.
const defaultMemoryLimit = 128 << 20

// setMemoryLimit applies defaultMemoryLimit unless the operator set
// GOMEMLIMIT.
func setMemoryLimit(env string) {
	if env == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}

const usage = `hookd delivers your platform's events to your customers' webhooks.

Usage:
  hookd serve [flags]   run the API and the delivery engine (hookd serve --help)
  hookd rekey [flags]   encrypt every webhook secret under the current key (hookd rekey --help)
  hookd migrate [flags] apply the store's migrations and exit, serving nothing (hookd migrate --help)
  hookd keygen <file>   write a new encryption key to <file>
  hookd version         print the version
  hookd help [command]  print this help, or a command's

Every flag of serve, rekey and migrate can also be set with an environment variable HOOKD_<NAME>
(--allow-http: HOOKD_ALLOW_HTTP).

Against a running hookd (--server or HOOKD_SERVER, --token or HOOKD_TOKEN):
  hookd tenants <verb>        list, get, create, delete
  hookd keys <verb>           a tenant's API keys: list, create, delete
  hookd webhooks <verb>       list, get, create, update, patch, delete, unsuspend, test,
                              secrets, rotate, recover
  hookd events <verb>         list, get, publish, batch
  hookd event-types <verb>    the catalogue: list, get, create, put, patch, delete
  hookd messages <verb>       list, get, attempts, retry, abort, resolve
  hookd portal-links create   a one-use link to the dashboard
  hookd whoami                who the token is
  hookd status [--wait 30s]   whether hookd is up and ready
  hookd listen --forward-to http://localhost:3000/hook [--events 'Unit.*']
                              forward a tenant's events, signed, to a local URL
Tables for people, --json for scripts; 'hookd <noun> --help' lists the verbs.
`

// run is main without os.Exit, so tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "rekey":
		return rekey(ctx, args[1:], os.Getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args[1:], os.Getenv, stdout, stderr)
	case "keygen":
		return keygen(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		if len(args) > 1 {
			if isHelp(args[1]) {
				fmt.Fprint(stdout, "Usage: hookd version\n\nPrints hookd's version.\n")
				return 0
			}
			fmt.Fprintf(stderr, "hookd version: unexpected argument %q\n", args[1])
			return 2
		}
		fmt.Fprintf(stdout, "hookd %s\n", hookd.Version)
		return 0
	case "help", "--help", "-h":
		if len(args) > 1 && !isHelp(args[1]) {
			// hookd help <command>: that command's help.
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	default:
		if cli.IsNoun(args[0]) {
			return cli.Run(ctx, args, cli.Env{Stdin: os.Stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv})
		}
		fmt.Fprintf(stderr, "hookd: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

// isHelp reports whether arg asks for help. Help goes to stdout with exit
// status 0, so that it can be paged and grepped; errors (a bad flag, an
// unknown command) go to stderr with status 2.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "--help", "-help", "help":
		return true
	}
	return false
}
