package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/catalog"
)

// ProblemTypeBase prefixes every problem type URI.
const ProblemTypeBase = "https://hookd.dev/errors/"

// Problem is an RFC 9457 problem document as hookd writes it.
type Problem struct {
	Type       string             `json:"type"`
	Title      string             `json:"title"`
	Status     int                `json:"status"`
	Detail     string             `json:"detail,omitempty"`
	Errors     []hookd.FieldError `json:"errors"`
	ExistingID string             `json:"existing_id,omitempty"`
}

// problemError is an answer the domain has no code for (405, 415). title
// and detail are catalogue keys.
type problemError struct {
	status     int
	typ, title string
	detail     hookd.Msg
}

func (e *problemError) Error() string { return e.detail.String() }

// Problem returns the answer of e (see statusProblem).
func (e *problemError) Problem() (status int, typ, title string, detail hookd.Msg) {
	return e.status, e.typ, e.title, e.detail
}

// statusProblem is an error that brings its own answer: its status, its
// problem type (what follows ProblemTypeBase), title and detail (catalogue
// keys). problemError is one, and so is a dialect's (package dialect) 415.
type statusProblem interface {
	error
	Problem() (status int, typ, title string, detail hookd.Msg)
}

// codeProblems gives each code its status, type and title (a catalogue
// key).
var codeProblems = map[string]struct {
	status int
	typ    string
	title  string
}{
	hookd.EINVALID:      {http.StatusBadRequest, "validation", "Validation failed"},
	hookd.EUNAUTHORIZED: {http.StatusUnauthorized, "unauthorized", "Unauthorized"},
	hookd.EFORBIDDEN:    {http.StatusForbidden, "forbidden", "Forbidden"},
	hookd.ENOTFOUND:     {http.StatusNotFound, "not-found", "Not found"},
	hookd.ECONFLICT:     {http.StatusConflict, "conflict", "Conflict"},
	hookd.ETOOLARGE:     {http.StatusRequestEntityTooLarge, "too-large", "Payload too large"},
	hookd.ERATELIMITED:  {http.StatusTooManyRequests, "rate-limited", "Too many requests"},
	hookd.EUNAVAILABLE:  {http.StatusServiceUnavailable, "unavailable", "Service unavailable"},
	hookd.EINTERNAL:     {http.StatusInternalServerError, "internal", "Internal server error"},
}

// UnavailableRetryAfter is the Retry-After, in seconds, of a 503 answer:
// the store could not take the request (its disk is full, the database is
// unreachable). Nothing of the request was stored; it may be sent again.
const UnavailableRetryAfter = 5

// unavailableLogEvery is how often at most a 503 of the store is logged:
// while a disk is full every write fails, and a line per request would
// only fill the logs (and perhaps that disk) faster.
const unavailableLogEvery = 10 * time.Second

// logUnavailable logs err, an EUNAVAILABLE answer, with its cause, unless
// one was logged less than unavailableLogEvery ago; the next line counts
// the ones left out.
func (s *Server) logUnavailable(r *http.Request, err error) {
	now := time.Now().UnixNano()
	last := s.unavailableAt.Load()
	if now-last < int64(unavailableLogEvery) || !s.unavailableAt.CompareAndSwap(last, now) {
		s.unavailableQuiet.Add(1)
		return
	}
	s.logger().Warn("store unavailable: answered 503", "method", r.Method, "path", r.URL.Path, "err", err,
		"not_logged_since_last", s.unavailableQuiet.Swap(0))
}

// writeError answers err as a problem document, its texts in the language
// the request's Accept-Language prefers (see catalog.Negotiate). Internal
// errors are logged (method, path and error only: never a body, a token or
// a secret) and answered without detail; the store's unavailability
// (EUNAVAILABLE) is logged with its cause, at most every
// unavailableLogEvery, and answered 503 with Retry-After.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	lang := catalog.Negotiate(r.Header.Get("Accept-Language"))
	p := Problem{Errors: []hookd.FieldError{}}
	var sp statusProblem
	var he *hookd.Error
	switch {
	case errors.As(err, &sp):
		status, typ, title, detail := sp.Problem()
		p.Status, p.Type, p.Title, p.Detail = status, ProblemTypeBase+typ, title, catalog.Render(lang, detail)
	case errors.As(err, &he) && codeProblems[he.Code].status != 0 && he.Code != hookd.EINTERNAL:
		if he.Code == hookd.EUNAVAILABLE {
			s.logUnavailable(r, err)
		}
		cp := codeProblems[he.Code]
		p.Status, p.Type, p.Title, p.Detail = cp.status, ProblemTypeBase+cp.typ, cp.title, catalog.Render(lang, he.Msg())
		if len(he.Fields) > 0 {
			p.Errors = catalog.Fields(lang, he.Fields)
		}
		p.ExistingID = he.ExistingID
	default:
		s.logger().Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		cp := codeProblems[hookd.EINTERNAL]
		p.Status, p.Type, p.Title = cp.status, ProblemTypeBase+cp.typ, cp.title
	}
	p.Title = catalog.Message(lang, p.Title)
	h := w.Header()
	switch p.Status {
	case http.StatusUnauthorized:
		if h.Get("WWW-Authenticate") == "" {
			h.Set("WWW-Authenticate", `Bearer realm="hookd"`)
		}
	case http.StatusTooManyRequests:
		if h.Get("Retry-After") == "" {
			h.Set("Retry-After", "1")
		}
	case http.StatusServiceUnavailable:
		if h.Get("Retry-After") == "" {
			h.Set("Retry-After", strconv.Itoa(UnavailableRetryAfter))
		}
	}
	b, _ := json.Marshal(p)
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Language", string(lang))
	h.Set("Vary", "Accept-Language")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	w.Write(append(b, '\n'))
}

// handlerFunc is an API handler: it writes its success answer and returns
// any error, which the caller turns into a problem document.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call) error

func asError(err error, target **hookd.Error) bool { return errors.As(err, target) }
