package httpapi

import (
	"slices"
	"testing"

	"github.com/hookd/hookd"
)

// A body's member is absent, null or a value; only a value changes the
// destination, null resets it, and a value that does not decode changes
// nothing and is reported.
func TestMemberField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		want     string
		wantList []string
		wantBad  []string
	}{
		{"absent", `{}`, "stored", []string{"stored"}, nil},
		{"null", `{"s": null, "l": null}`, "reset", nil, nil},
		{"value", `{"s": "new", "l": ["a", "b"]}`, "new", []string{"a", "b"}, nil},
		{"empty value", `{"s": "", "l": []}`, "", []string{}, nil},
		{"wrong type", `{"s": 5, "l": "x"}`, "stored", []string{"stored"}, []string{"l", "s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := decodeObject([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			o := newObj(m, "")
			s, l := "stored", []string{"stored"}
			member(o, "s", into(o.str)).apply(&s, "reset")
			member(o, "l", o.strList).apply(&l, nil)
			if s != tt.want || !slices.Equal(l, tt.wantList) || (l == nil) != (tt.wantList == nil) {
				t.Errorf("got %q %q, want %q %q", s, l, tt.want, tt.wantList)
			}
			var bad []string
			for _, fe := range *o.f {
				bad = append(bad, fe.Field)
			}
			slices.Sort(bad)
			if !slices.Equal(bad, tt.wantBad) {
				t.Errorf("errors on %v, want %v", bad, tt.wantBad)
			}
		})
	}
	// A nested default: failure_handling's suspend_after left out or null
	// takes its default; the object null resets the whole.
	def := hookd.NewWebhookDefaults().FailureHandling
	for _, body := range []string{`{"failure_handling": {}}`, `{"failure_handling": {"suspend_after": null}}`, `{"failure_handling": null}`} {
		m, _ := decodeObject([]byte(body))
		o := newObj(m, "")
		fh := hookd.FailureHandling{SuspendAfter: 1}
		member(o, "failure_handling", o.failureHandling).apply(&fh, def)
		if fh != def || o.err() != nil {
			t.Errorf("%s: %+v, %v; want the default", body, fh, o.err())
		}
	}
}
