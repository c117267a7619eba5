package catalog_test

import (
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/catalog"
)

// FuzzNegotiate reads arbitrary Accept-Language values: no panic, always
// one of the catalogue's languages, English unless "de" is named, and the
// rules of q-values hold whatever follows: a first range of q=1 wins, and
// a range the catalogue lacks or that refuses (q=0) changes nothing.
func FuzzNegotiate(f *testing.F) {
	for _, h := range []string{"", "de", "DE", "de-DE", "de-CH-1996", "en-DE", "en-GB, de;q=0.9", "de;q=0.5, en;q=0.9",
		"fr-FR, fr;q=0.9, de;q=0.8, en;q=0.7", "fr, *;q=0.5, de;q=0.4", "de;q=0, en;q=0.1", "en;q=0, de", "de , en",
		"de;q=NaN", "de;q=1.5, en;q=0.001", "de;Q=0.3;level=1, en;q=0.2", ";;;,,,=", "de;q=0.5;q=1", "en-de;q=1e-3"} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got := catalog.Negotiate(h)
		if got != catalog.English && got != catalog.German {
			t.Fatalf("Negotiate(%q) = %q, no language of the catalogue", h, got)
		}
		if got == catalog.German && !strings.Contains(strings.ToLower(h), "de") {
			t.Fatalf("Negotiate(%q) = German, which it does not name", h)
		}
		if g := catalog.Negotiate("de, " + h); g != catalog.German {
			t.Fatalf("Negotiate(%q) = %s: the first range, of q=1, must win", "de, "+h, g)
		}
		if g := catalog.Negotiate("en, " + h); g != catalog.English {
			t.Fatalf("Negotiate(%q) = %s: the first range, of q=1, must win", "en, "+h, g)
		}
		for _, tail := range []string{", fr", ", de;q=0", ", en;q=0", ", *;q=0"} {
			if g := catalog.Negotiate(h + tail); g != got {
				t.Fatalf("Negotiate(%q) = %s, but %s without %q", h+tail, g, got, tail)
			}
		}
	})
}
