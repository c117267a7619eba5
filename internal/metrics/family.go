package metrics

import (
	"strings"
	"sync"
)

// CounterFamily is a counter for each combination of values of its labels,
// registered on first use: for labels whose values are not known in
// advance, such as a tenant id. Every combination seen stays exported
// until the process ends, so give it only labels of bounded cardinality
// (hookd's per-tenant series are behind a flag for that reason).
type CounterFamily struct {
	r      *Registry
	name   string // base name, with fixed labels if any: `x_total{result="ok"}`
	labels []string
	help   string

	mu sync.Mutex
	m  map[string]*Counter // by the label values joined with \xff
}

// CounterFamily returns a family of counters named name (which may carry
// fixed labels) with the given variable labels.
func (r *Registry) CounterFamily(name, help string, labels ...string) *CounterFamily {
	return &CounterFamily{r: r, name: name, labels: labels, help: help, m: map[string]*Counter{}}
}

// With returns the counter of the given label values (one per label, in
// order), registering it on first use.
func (f *CounterFamily) With(values ...string) *Counter {
	key := strings.Join(values, "\xff")
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.m[key]; ok {
		return c
	}
	base, fixed := f.name, ""
	if i := strings.IndexByte(base, '{'); i >= 0 {
		base, fixed = f.name[:i], strings.TrimSuffix(f.name[i+1:], "}")
	}
	var b strings.Builder
	b.WriteString(base + "{")
	if fixed != "" {
		b.WriteString(fixed)
	}
	for i, l := range f.labels {
		if i > 0 || fixed != "" {
			b.WriteByte(',')
		}
		v := ""
		if i < len(values) {
			v = values[i]
		}
		b.WriteString(l + `="` + escapeLabel(v) + `"`)
	}
	b.WriteByte('}')
	c := f.r.Counter(b.String(), f.help)
	f.m[key] = c
	return c
}

// escapeLabel escapes a label value as the text format requires.
func escapeLabel(v string) string {
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}
