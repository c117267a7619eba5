package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/catalog"
	"github.com/hookd/hookd/internal/netguard"
)

func TestNegotiate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		header string
		want   catalog.Lang
	}{
		{"", catalog.English},
		{"de", catalog.German},
		{"DE", catalog.German},
		{"de-DE", catalog.German},
		{"de-AT", catalog.German},
		{"de-CH-1996", catalog.German},
		{"en-DE", catalog.German}, // the property seed's name for its German
		{"en", catalog.English},
		{"en-US", catalog.English},
		{"en-GB, de;q=0.9", catalog.English},
		{"de;q=0.5, en;q=0.9", catalog.English},
		{"en;q=0.5, de;q=0.9", catalog.German},
		{"fr-FR, fr;q=0.9, de;q=0.8, en;q=0.7", catalog.German},
		{"fr, es", catalog.English},
		{"*", catalog.English},
		{"fr, *;q=0.5, de;q=0.4", catalog.English},
		{"de;q=0, en;q=0.1", catalog.English},
		{"de;q=0", catalog.English},
		{"en;q=0, de", catalog.German},
		{"de , en", catalog.German},       // equal q: the first
		{"en, de", catalog.English},       // equal q: the first
		{"de;q=1.5, en", catalog.English}, // an invalid q ignores the range
		{"de;q=abc", catalog.English},
		{"de;q=NaN", catalog.English},
		{"de; Q=0.8 , en;q=0.7", catalog.German},
		{"deutsch, de-", catalog.German},
		{"dex", catalog.English},
		{";;,,", catalog.English},
	} {
		if got := catalog.Negotiate(tt.header); got != tt.want {
			t.Errorf("Negotiate(%q) = %s, want %s", tt.header, got, tt.want)
		}
	}
}

// verb is one fmt verb of a template: the argument it takes (from 1) and
// its letter.
type verb struct {
	arg    int
	letter byte
}

// verbs returns the verbs of a template, sorted by argument, or an error
// for one this test cannot read (a '*' width, a bad index).
func verbs(tmpl string) ([]verb, error) {
	var out []verb
	next := 1
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '%' {
			continue
		}
		i++
		if i < len(tmpl) && tmpl[i] == '%' {
			continue
		}
		for i < len(tmpl) && strings.IndexByte("+-# 0", tmpl[i]) >= 0 {
			i++
		}
		if i < len(tmpl) && tmpl[i] == '[' {
			end := strings.IndexByte(tmpl[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed index in %q", tmpl)
			}
			if _, err := fmt.Sscanf(tmpl[i+1:i+end], "%d", &next); err != nil {
				return nil, fmt.Errorf("bad index in %q", tmpl)
			}
			i += end + 1
		}
		for i < len(tmpl) && (tmpl[i] == '.' || ('0' <= tmpl[i] && tmpl[i] <= '9')) {
			i++
		}
		if i >= len(tmpl) || tmpl[i] == '*' {
			return nil, fmt.Errorf("cannot read the verbs of %q", tmpl)
		}
		out = append(out, verb{next, tmpl[i]})
		next++
	}
	slices.SortFunc(out, func(a, b verb) int { return a.arg - b.arg })
	return out, nil
}

// Every German template takes the same arguments with the same verbs as
// its key, and says something else.
func TestGermanTemplates(t *testing.T) {
	t.Parallel()
	keys := catalog.Keys()
	if len(keys) == 0 {
		t.Fatal("no keys")
	}
	for _, key := range keys {
		de, ok := catalog.Template(catalog.German, key)
		if !ok || strings.TrimSpace(de) == "" {
			t.Errorf("%q: no German text", key)
			continue
		}
		if de == key {
			t.Errorf("%q: the German text is the English one", key)
		}
		en, err := verbs(key)
		if err != nil {
			t.Error(err)
			continue
		}
		ge, err := verbs(de)
		if err != nil {
			t.Error(err)
			continue
		}
		if !slices.Equal(en, ge) {
			t.Errorf("%q: German %q takes the arguments %v, English %v", key, de, ge, en)
		}
		if en, ok := catalog.Template(catalog.English, key); !ok || en != key {
			t.Errorf("%q: English template %q, %v", key, en, ok)
		}
	}
}

func TestMessageAndRender(t *testing.T) {
	t.Parallel()
	if got, want := catalog.Message(catalog.German, "must be at most %d characters", 255), "darf höchstens 255 Zeichen lang sein"; got != want {
		t.Errorf("German = %q, want %q", got, want)
	}
	if got, want := catalog.Message(catalog.English, "must be at most %d characters", 255), "must be at most 255 characters"; got != want {
		t.Errorf("English = %q, want %q", got, want)
	}
	// A key without a German text renders in English.
	if got, want := catalog.Message(catalog.German, "no such key %d", 1), "no such key 1"; got != want {
		t.Errorf("unknown key = %q, want %q", got, want)
	}
	// Texts made elsewhere (hookd.Text) render as written, % and all.
	if got := catalog.Render(catalog.German, hookd.Text("100% wrong")); got != "100% wrong" {
		t.Errorf("Text = %q", got)
	}
	if got := catalog.Render(catalog.German, hookd.Msg{}); got != "" {
		t.Errorf("zero Msg = %q", got)
	}
	// An error's message and fields; an internal error says nothing more.
	var f hookd.Fields
	f.Add("timeout_ms", "must be between %d and %d", 1000, 30000)
	f.AddMsg("url", hookd.Text("must not have an IPv6 zone (%25...)"))
	f = append(f, hookd.FieldError{Field: "legacy", Message: "must be a string"}) // no key: its message is one
	err := fmt.Errorf("wrapped: %w", f.Err())
	if got, want := catalog.ErrorMessage(catalog.German, err), "3 Felder sind ungültig"; got != want {
		t.Errorf("ErrorMessage = %q, want %q", got, want)
	}
	var he *hookd.Error
	if !errors.As(err, &he) {
		t.Fatal("no *hookd.Error")
	}
	got := catalog.Fields(catalog.German, he.Fields)
	want := []string{"muss zwischen 1000 und 30000 liegen", "darf keine IPv6-Zone haben (%25...)", "muss eine Zeichenkette sein"}
	for i, fe := range got {
		if fe.Message != want[i] || fe.Field != he.Fields[i].Field {
			t.Errorf("field %d = %+v, want message %q", i, fe, want[i])
		}
	}
	if he.Fields[0].Message != "must be between 1000 and 30000" {
		t.Errorf("Fields changed its argument: %+v", he.Fields[0])
	}
	// A reason inside a message renders in the message's language.
	busy := hookd.Errorf(hookd.EUNAVAILABLE, "%s: retry later", hookd.Text("the database is busy"))
	if busy.Message != "the database is busy: retry later" || catalog.ErrorMessage(catalog.English, busy) != busy.Message {
		t.Errorf("English %q, rendered %q", busy.Message, catalog.ErrorMessage(catalog.English, busy))
	}
	if got, want := catalog.ErrorMessage(catalog.German, busy), "die Datenbank ist ausgelastet: später erneut versuchen"; got != want {
		t.Errorf("nested German = %q, want %q", got, want)
	}
	if _, ok := busy.Args[0].(hookd.Msg); !ok {
		t.Errorf("rendering changed the error's arguments: %#v", busy.Args)
	}
	if got := catalog.ErrorMessage(catalog.German, errors.New("disk on fire")); got != "interner Fehler" {
		t.Errorf("internal error = %q", got)
	}
	if got := catalog.ErrorMessage(catalog.English, errors.New("disk on fire")); got != "internal error" {
		t.Errorf("internal error = %q", got)
	}
}

// resolver resolves *.private.test to a private address, every other name
// to a public one.
type resolver struct{}

func (resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if strings.HasSuffix(host, ".private.test") {
		return []netip.Addr{netip.MustParseAddr("10.1.2.3")}, nil
	}
	return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
}

func webhook(change func(w *hookd.Webhook)) *hookd.Webhook {
	w := hookd.NewWebhookDefaults()
	w.Name, w.URL, w.EventTypes = "hook", "https://example.com/x", []string{"*"}
	change(w)
	return w
}

func many[T any](n int, f func(i int) T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func pairs[V any](n int, v V) map[string]V {
	m := map[string]V{}
	for i := range n {
		m[fmt.Sprintf("K%d", i)] = v
	}
	return m
}

// Walks invalid input through every validation of the domain (webhooks,
// events, secrets, the target policy): every message renders in both
// languages from its key, the German one differs, and the walk meets every
// key validate.go and netguard use, so that none is left untried.
func TestDomainMessagesRenderInGerman(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	policy := &netguard.Policy{Resolver: resolver{}}
	long := func(n int) string { return strings.Repeat("a", n) }
	hooks := []func(w *hookd.Webhook){
		func(w *hookd.Webhook) { w.Name = "" },
		func(w *hookd.Webhook) { w.Name, w.Description = long(256), long(1001) },
		func(w *hookd.Webhook) { w.URL = "" },
		func(w *hookd.Webhook) { w.URL = "https://example.com/" + long(2048) },
		func(w *hookd.Webhook) { w.URL = "/relative" },
		func(w *hookd.Webhook) { w.URL = "ftp://example.com/" },
		func(w *hookd.Webhook) { w.URL = "https:///path" },
		func(w *hookd.Webhook) { w.URL = "https://bücher.example/" },
		func(w *hookd.Webhook) { w.URL = "https://u:p@example.com/" },
		func(w *hookd.Webhook) { w.URL = "https://example.com:0/" },
		func(w *hookd.Webhook) { w.URL = "http://example.com/" },
		func(w *hookd.Webhook) { w.URL = "https://10.0.0.1/" },
		func(w *hookd.Webhook) { w.URL = "https://hooks.private.test/" },
		func(w *hookd.Webhook) { w.URL = "https://example.com/a b" },
		func(w *hookd.Webhook) { w.URL = "https://[fe80::1%25eth0]/" },
		func(w *hookd.Webhook) { w.URL = "https://0x7f.1/" },
		func(w *hookd.Webhook) { w.URL = "https://a..b/" },
		func(w *hookd.Webhook) { w.EventTypes = nil },
		func(w *hookd.Webhook) { w.EventTypes = many(101, func(i int) string { return fmt.Sprint("t", i) }) },
		func(w *hookd.Webhook) { w.EventTypes = []string{"bad type!"} },
		func(w *hookd.Webhook) { w.Filter = pairs(51, "v") },
		func(w *hookd.Webhook) {
			w.Filter = map[string]string{"": "x", long(256): "v", "empty": "", "big": long(1001)}
		},
		func(w *hookd.Webhook) { w.Headers = pairs(51, []string{"v"}) },
		func(w *hookd.Webhook) {
			w.Headers = map[string][]string{"": {"v"}, long(257): {"v"}, "Bad Name": {"v"}, "Host": {"v"},
				"X-A": {"1"}, "x-a": {"2"}, "X-B": {}, "X-C": many(11, func(int) string { return "v" }),
				"X-D": {long(4097), "a\nb"}}
		},
		func(w *hookd.Webhook) { w.Auth = &hookd.Auth{Type: hookd.AuthBasic, Token: "t"} },
		func(w *hookd.Webhook) {
			w.Auth = &hookd.Auth{Type: hookd.AuthBasic, Username: "a:b", Password: long(1025)}
		},
		func(w *hookd.Webhook) {
			w.Auth = &hookd.Auth{Type: hookd.AuthBasic, Username: "é", Password: "\x01"}
		},
		func(w *hookd.Webhook) {
			w.Auth = &hookd.Auth{Type: hookd.AuthBasic, Username: long(1025), Password: "p"}
		},
		func(w *hookd.Webhook) { w.Auth = &hookd.Auth{Type: hookd.AuthBearer, Username: "u", Password: "p"} },
		func(w *hookd.Webhook) { w.Auth = &hookd.Auth{Type: hookd.AuthBearer, Token: "a b"} },
		func(w *hookd.Webhook) { w.Auth = &hookd.Auth{Type: hookd.AuthBearer, Token: long(1025)} },
		func(w *hookd.Webhook) { w.Auth = &hookd.Auth{} },
		func(w *hookd.Webhook) { w.Auth = &hookd.Auth{Type: "digest"} },
		func(w *hookd.Webhook) {
			w.Secrets = []hookd.Secret{{Value: "whsec_!!!"}, {Value: "whsec_" + "AAAAAAAAAAA="}, {Value: "short"}}
		},
		func(w *hookd.Webhook) {
			w.TimeoutMS, w.MaxRetries, w.RateLimit, w.MaxInFlight = 0, -1, -1, -1
			w.RetrySchedule = many(21, func(int) hookd.Duration { return 0 })
			w.FailureHandling.SuspendAfter = -1
		},
	}
	var fields []hookd.FieldError
	for i, change := range hooks {
		err := webhook(change).Validate(ctx, policy)
		var he *hookd.Error
		if !errors.As(err, &he) || len(he.Fields) == 0 {
			t.Fatalf("webhook %d: %v, want field errors", i, err)
		}
		fields = append(fields, he.Fields...)
	}
	var f hookd.Fields
	events := []hookd.EventInput{
		{Type: ""},
		{Type: "bad type", Payload: json.RawMessage(`"` + long(100) + `"`), Group: long(256), IdempotencyKey: long(256),
			Attributes: pairs(51, "v")},
		{Type: "ok", IdempotencyKey: "é", Attributes: map[string]string{"": "x", long(256): "v", "big": long(1001)}},
	}
	for i := range events {
		events[i].Check(fmt.Sprintf("events[%d].", i), 10, &f)
	}
	fields = append(fields, f...)
	// A host url.Parse lets through no more (an IPv6 address it cannot
	// parse) but CheckHost, which netguard calls too, still judges.
	for _, host := range []string{"1::2::3"} {
		f = nil
		f.AddMsg("host", hookd.Text(hookd.CheckHost(host)))
		fields = append(fields, f...)
	}

	seen := map[string]bool{}
	for _, fe := range fields {
		seen[fe.Key] = true
		en := catalog.FieldMessage(catalog.English, fe)
		de := catalog.FieldMessage(catalog.German, fe)
		if _, ok := catalog.Template(catalog.German, fe.Key); !ok {
			t.Errorf("%s: %q has no German text (key %q)", fe.Field, fe.Message, fe.Key)
		}
		if en != fe.Message {
			t.Errorf("%s: renders %q in English, the domain said %q", fe.Field, en, fe.Message)
		}
		if de == en || strings.Contains(de, "%!") || strings.Contains(en, "%!") {
			t.Errorf("%s: German %q, English %q", fe.Field, de, en)
		}
	}
	// Every key of the domain's validation and of the target policy was
	// met: a rule added without an input here fails this test.
	for key, at := range scanKeys(t).keys {
		inValidation := strings.HasPrefix(at, "../../validate.go") || strings.HasPrefix(at, "../netguard/")
		if inValidation && !seen[key] {
			t.Errorf("no input above makes %q (%s)", key, at)
		}
	}
}
