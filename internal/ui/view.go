package ui

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/access"
)

// view is what every template sees: the request's language, session and
// tenant, the page's title and its data.
type view struct {
	Lang      string
	Title     string
	Tenant    *hookd.Tenant
	Next      string
	LoginCSRF string
	Error     string
	Flash     string
	Section   string
	Data      any

	ses *session
	now time.Time
}

func (s *Server) newView(r *http.Request) *view {
	v := &view{Lang: negotiate(r.Header.Get("Accept-Language")), now: s.now()}
	q := r.URL.Query()
	if d := q.Get("done"); d != "" && labels["done."+d][0] != "" {
		v.Flash = v.Tn("done."+d, count(q.Get("n")))
		if k := count(q.Get("k")); k > 0 {
			v.Flash += " " + v.Tn("done.skipped", k)
		}
	}
	return v
}

// count reads a flash message's number (0 when it is none): the flash
// never shows what the URL says, only a number made of it.
func count(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// T translates a label key into the view's language.
func (v *view) T(key string) string { return label(v.Lang, key) }

// Tf translates a label with {n} replaced (an int with the language's
// digit grouping).
func (v *view) Tf(key string, n any) string {
	s := fmt.Sprint(n)
	if i, ok := n.(int); ok {
		s = v.Num(int64(i))
	}
	return strings.ReplaceAll(v.T(key), "{n}", s)
}

// Tn is Tf for a count: the key's ".one" label when n is 1 and there is
// one ("1 message", not "1 messages").
func (v *view) Tn(key string, n int) string {
	if _, ok := labels[key+".one"]; ok && n == 1 {
		key += ".one"
	}
	return v.Tf(key, n)
}

// CSRF is the token every form of the session carries.
func (v *view) CSRF() string {
	if v.ses == nil {
		return ""
	}
	return v.ses.csrf
}

// SignedIn reports whether a session exists.
func (v *view) SignedIn() bool { return v.ses != nil }

// Root reports whether the session is the root token's.
func (v *view) Root() bool { return v.ses != nil && v.ses.root }

// Who names the session's credential for the header.
func (v *view) Who() string {
	switch {
	case v.ses == nil:
		return ""
	case v.ses.root:
		return v.T("who.root")
	case v.ses.portal:
		return v.T("who.portal")
	case v.ses.caller.Key != nil:
		name := v.ses.caller.Key.Name
		if name == "" {
			name = v.ses.caller.Key.Prefix + "…"
		}
		return v.T("who.key") + " " + name
	}
	return ""
}

// ReadOnly reports whether the session may change nothing of its tenant.
func (v *view) ReadOnly() bool {
	return !v.Can("webhooks:write") && !v.Can("messages:write") && !v.Can("admin")
}

// Can reports whether the session holds what an operation needs, by the
// operation's name (see access).
func (v *view) Can(op string) bool {
	if v.ses == nil {
		return false
	}
	need, ok := map[string]access.Need{
		"admin": access.ManageKeys, "webhooks:list": access.ListWebhooks, "webhooks:read": access.ReadWebhooks,
		"webhooks:write": access.WriteWebhooks, "recover": access.RecoverMessages, "events:read": access.ReadEvents,
		"messages:read": access.ReadMessages, "messages:write": access.WriteMessages,
	}[op]
	if !ok {
		panic("ui: unknown operation " + op)
	}
	return v.ses.caller.May(need)
}

// TenantURL is the path of a tenant page.
func (v *view) TenantURL(rest string) string {
	if v.Tenant == nil {
		return "/ui/"
	}
	return "/ui/t/" + url.PathEscape(v.Tenant.ID) + rest
}

// Time formats t for the view's language: "3 Dec 2026, 14:05:09 UTC".
func (v *view) Time(t time.Time) string {
	t = t.UTC()
	if v.Lang == "de" {
		return t.Format("02.01.2006, 15:04:05") + " UTC"
	}
	return t.Format("2 Jan 2006, 15:04:05") + " UTC"
}

// TimePtr formats t, "—" for nil.
func (v *view) TimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return v.Time(*t)
}

// Ago says how long ago (or from now) t is, in words.
func (v *view) Ago(t time.Time) string {
	d := v.now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var n int
	var unit string
	switch {
	case d < time.Minute:
		n, unit = int(d.Seconds()), "s"
	case d < time.Hour:
		n, unit = int(d.Minutes()), "min"
	case d < 48*time.Hour:
		n, unit = int(d.Hours()), "h"
	default:
		n, unit = int(d.Hours()/24), "d"
	}
	if v.Lang == "de" {
		if unit == "d" {
			unit = "T"
		}
		if future {
			return fmt.Sprintf("in %d %s", n, unit)
		}
		return fmt.Sprintf("vor %d %s", n, unit)
	}
	if future {
		return fmt.Sprintf("in %d %s", n, unit)
	}
	return fmt.Sprintf("%d %s ago", n, unit)
}

// ISO is t for a <time datetime>.
func (v *view) ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Num formats n with the language's digit grouping.
func (v *view) Num(n int64) string {
	s := strconv.FormatInt(n, 10)
	sep := "\u202f" // narrow no-break space (SI; reads in both languages)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && c != '-' && s[i-1] != '-' {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Count formats a capped count: above limit as "limit+".
func (v *view) Count(n, limit int) string {
	if n < 0 {
		return "—"
	}
	if n > limit {
		return v.Num(int64(limit)) + "+"
	}
	return v.Num(int64(n))
}

// Pct formats a ratio as a percentage, "—" without attempts.
func (v *view) Pct(ok, total int64) string {
	if total == 0 {
		return "—"
	}
	p := float64(ok) * 100 / float64(total)
	s := strconv.FormatFloat(p, 'f', 1, 64)
	if p == 100 {
		s = "100"
	}
	if v.Lang == "de" {
		s = strings.ReplaceAll(s, ".", ",")
		return s + "\u00a0%"
	}
	return s + "%"
}

// PctWhole formats a whole percentage for an axis: "50%", German "50 %".
func (v *view) PctWhole(n int64) string {
	if v.Lang == "de" {
		return strconv.FormatInt(n, 10) + "\u00a0%"
	}
	return strconv.FormatInt(n, 10) + "%"
}

// MS formats milliseconds: "12 ms", "1.4 s".
func (v *view) MS(ms float64) string {
	var s string
	switch {
	case ms < 10:
		s = strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	case ms < 1000:
		s = strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
	default:
		s = strconv.FormatFloat(ms/1000, 'f', 1, 64) + " s"
	}
	if v.Lang == "de" {
		s = strings.ReplaceAll(s, ".", ",")
	}
	return s
}

// MSShort formats an axis value in whole units: "10 ms", "1 s".
func (v *view) MSShort(ms float64) string {
	if ms >= 1000 {
		return strconv.FormatFloat(ms/1000, 'f', -1, 64) + " s"
	}
	return strconv.FormatFloat(ms, 'f', -1, 64) + " ms"
}

// Quantile formats a histogram's q-quantile, "—" when empty.
func (v *view) Quantile(h hookd.Histogram, q float64) string {
	ms, ok := h.Quantile(q)
	if !ok {
		return "—"
	}
	return v.MS(ms)
}

// State is a message state's label.
func (v *view) State(s hookd.MessageState) string { return v.T("state." + string(s)) }

// Hours formats a duration in whole hours ("8").
func (v *view) Hours(d time.Duration) string {
	return strconv.Itoa(int(d.Round(time.Hour) / time.Hour))
}

// MaxBulk is the most messages one bulk operation changes.
func (v *view) MaxBulk() int { return hookd.MaxBulkMessages }

// ScanLimit is how many messages a page with a filter no index holds
// examines.
func (v *view) ScanLimit() int { return scanLimit }

// States lists every state, for filters and counts.
func (v *view) States() []hookd.MessageState { return hookd.States }

type stateArg struct {
	V *view
	S hookd.MessageState
}

type timeArg struct {
	V *view
	T time.Time
}

type copyArg struct {
	V            *view
	Value, Label string
}

type fieldArg struct {
	V                     *view
	F                     *webhookForm
	N, L, Help, Type, Val string
	RO                    bool
}

// pageTemplate is one page: the layout and the page's own templates.
type pageTemplate struct{ t *template.Template }

var pageNames = []string{"login", "error", "overview", "tenant", "webhooks", "webhook", "messages", "message", "bulk", "events", "keys", "links"}

func mustParsePages() map[string]*pageTemplate {
	base := template.Must(template.New("layout.html").Funcs(template.FuncMap{
		"add":  func(a, b int) int { return a + b },
		"sub":  func(a, b int) int { return a - b },
		"json": prettyJSON,
		"has": func(list []string, s string) bool {
			for _, x := range list {
				if x == s {
					return true
				}
			}
			return false
		},
		"str":   func(v any) string { return fmt.Sprint(v) },
		"int64": func(n int) int64 { return int64(n) },
		"list":  func(s ...string) []string { return s },
		"dict":  func(v *view, s hookd.MessageState) stateArg { return stateArg{v, s} },
		"cond": func(b bool, a, c string) string {
			if b {
				return a
			}
			return c
		},
		"at": func(v *view, t any) timeArg {
			switch x := t.(type) {
			case time.Time:
				return timeArg{v, x}
			case *time.Time:
				if x != nil {
					return timeArg{v, *x}
				}
			}
			return timeArg{V: v}
		},
		"copyArg": func(v *view, value, label string) copyArg { return copyArg{v, value, label} },
		"fld": func(v *view, f *webhookForm, name, label, help, typ, val string, ro bool) fieldArg {
			return fieldArg{V: v, F: f, N: name, L: label, Help: help, Type: typ, Val: val, RO: ro}
		},
	}).ParseFS(files, "templates/layout.html", "templates/parts.html"))
	out := map[string]*pageTemplate{}
	for _, n := range pageNames {
		t := template.Must(template.Must(base.Clone()).ParseFS(files, "templates/"+n+".html"))
		out[n] = &pageTemplate{t}
	}
	return out
}

// render writes page with data as the answer, with status.
func (s *Server) render(w http.ResponseWriter, v *view, page string, status int, data any) {
	s.renderTemplate(w, v, page, "layout", status, data)
}

// renderTemplate writes one named template of page (a live fragment, or
// the whole layout).
func (s *Server) renderTemplate(w http.ResponseWriter, v *view, page, name string, status int, data any) {
	v.Data = data
	var buf bytes.Buffer
	if err := s.pages[page].t.ExecuteTemplate(&buf, name, v); err != nil {
		s.logger().Error("dashboard: render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", v.Lang)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// prettyJSON indents a payload for a <pre>; the template escapes it.
func prettyJSON(raw []byte) string {
	var b bytes.Buffer
	if err := jsonIndent(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}
