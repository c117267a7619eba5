package dialect

import (
	"errors"
	"net/http"
	"strings"

	"github.com/hookd/hookd"
)

// HandlerFunc is a dialect's handler: it writes its success answer and
// returns any error, which the dialect answers in its own shape.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Router routes the requests of one dialect's paths with a ServeMux of its
// own, so that every answer there is the dialect's: what it does not
// route (404, 405 with Allow), a handler's error and a recovered panic
// are answered by Fail.
type Router struct {
	// Fail answers err in the dialect's shape.
	Fail   func(w http.ResponseWriter, r *http.Request, err error)
	Env    *Env
	mux    http.ServeMux
	routes []string
}

// Handle routes pattern ("METHOD /path/{param}") to h.
func (rt *Router) Handle(pattern string, h HandlerFunc) {
	rt.routes = append(rt.routes, pattern)
	rt.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			rt.Fail(w, r, err)
		}
	}))
}

// Routes returns the patterns routed, in the order they were.
func (rt *Router) Routes() []string { return append([]string(nil), rt.routes...) }

// ServeHTTP routes r.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			rt.Env.Log().Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
			if !sw.wrote {
				rt.Fail(sw, r, errors.New("panic"))
			}
		}
	}()
	h, pattern := rt.mux.Handler(r)
	if pattern == "" {
		// Not found, or found under another method: ask the mux which.
		probe := &probeWriter{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			sw.Header().Set("Allow", probe.header.Get("Allow"))
			rt.Fail(sw, r, MethodNotAllowed(r.Method))
			return
		}
		rt.Fail(sw, r, hookd.Errorf(hookd.ENOTFOUND, "no such resource"))
		return
	}
	rt.mux.ServeHTTP(sw, r)
}

// MethodNotAllowed is the 405 of method.
func MethodNotAllowed(method string) error {
	return &StatusError{Status: http.StatusMethodNotAllowed, Type: "method-not-allowed",
		Title: "Method not allowed", Detail: hookd.NewMsg("method %s is not allowed here", method)}
}

// Subtree returns the ServeMux patterns that send every request under
// path (itself included) to one handler.
func Subtree(path string) []string {
	path = strings.TrimSuffix(path, "/")
	return []string{path, path + "/"}
}

// statusWriter remembers whether an answer was begun.
type statusWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// probeWriter captures the mux's answer for an unmatched request.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header { return p.header }
func (p *probeWriter) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
func (p *probeWriter) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
