// Command receiver is an example webhook receiver for hookd: it checks
// each delivery's signature with the verify package and prints it.
//
//	go run ./examples/receiver --secret whsec_… [--secret whsec_… ] [--addr 127.0.0.1:9000]
//
// Give the secret that hookd showed when the webhook was created (or
// GET …/webhooks/{id}/secrets); during a rotation give both. Every POST,
// on any path, is verified: a delivery that passes is printed and answered
// 204, any other request is answered 400, 401 or 413 with the reason,
// which hookd records on the attempt. Ctrl-C stops it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hookd/hookd/verify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil))
}

// run serves until ctx ends and returns the exit code; ready, if not nil,
// receives the address it listens on.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) int {
	fs := flag.NewFlagSet("receiver", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:9000", "address to listen on")
	var secrets []string
	fs.Func("secret", "the webhook's signing secret (whsec_… or plain); repeat it for both secrets of a rotation", func(s string) error {
		secrets = append(secrets, s)
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: receiver --secret whsec_… [--secret …] [--addr 127.0.0.1:9000]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		return 2
	}
	if len(secrets) == 0 {
		fmt.Fprintln(stderr, "receiver: --secret is required (the whsec_… secret hookd showed for the webhook)")
		return 2
	}
	v, err := verify.New(secrets...)
	if err != nil {
		fmt.Fprintf(stderr, "receiver: %v\n", err)
		return 2
	}

	var mu sync.Mutex // one line at a time
	seen := map[string]bool{}
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env, _ := verify.FromContext(r.Context())
		mu.Lock()
		defer mu.Unlock()
		// Delivery is at least once: the same message may come again (a
		// lost answer, a restart). A real receiver keeps the ids it has
		// handled and skips a repeat; this one only says so.
		again := ""
		if seen[env.ID] {
			again = " (again)"
		}
		seen[env.ID] = true
		group := ""
		if env.Group != "" {
			group = " group " + env.Group
		}
		fmt.Fprintf(stdout, "%s %s %s%s event %s tenant %s%s: %s\n", time.Now().UTC().Format(time.RFC3339),
			env.Type, env.ID, again, env.EventID, env.TenantID, group, env.Data)
		w.WriteHeader(http.StatusNoContent)
	})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "deliveries are POSTed", http.StatusMethodNotAllowed)
			return
		}
		rec := &refusal{ResponseWriter: w}
		verify.Handler(v, show).ServeHTTP(rec, r)
		if rec.status >= 400 {
			mu.Lock()
			fmt.Fprintf(stdout, "%s refused %d: %s\n", time.Now().UTC().Format(time.RFC3339), rec.status, strings.TrimSpace(rec.reason))
			mu.Unlock()
		}
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "receiver: %v\n", err)
		return 1
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "receiver: listening on http://%s (POST to any path), %d secret(s)\n", ln.Addr(), len(secrets))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		fmt.Fprintf(stderr, "receiver: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shut)
	<-done
	return 0
}

// refusal remembers the status and the text of an answer, to print why a
// request was refused.
type refusal struct {
	http.ResponseWriter
	status int
	reason string
}

func (r *refusal) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *refusal) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.status >= 400 && len(r.reason) < 500 {
		r.reason += string(b)
	}
	return r.ResponseWriter.Write(b)
}
