package httpapi

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestInvalidUTF8Paths(t *testing.T) {
	t.Parallel()
	const ff = "\xff"
	deep := strings.Repeat(`{"a":[`, 500) + `"` + ff + `"` + strings.Repeat(`]}`, 500)
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"valid", `{"a":"é","b":["\u0000",{"c":"x"}]}`, nil},
		{"member", `{"a":"` + ff + `"}`, []string{"a"}},
		{"member name", `{"` + ff + `x":1}`, []string{"\ufffdx"}},
		{"nested", `{"p":{"a":[1,"ok",{"b":"` + ff + `"}],"c":"` + ff + `"}}`, []string{"p.a[2].b", "p.c"}},
		{"after an empty object", `{"e":[{},"` + ff + `"]}`, []string{"e[1]"}},
		{"after an empty array", `{"e":[[],{"k":[]},"` + ff + `"],"f":"` + ff + `"}`, []string{"e[2]", "f"}},
		{"escapes kept apart", `{"a\"b":"\\` + ff + `","x":"\"` + ff + `"}`, []string{"a\"b", "x"}},
		{"name and value", `{"` + ff + `":"` + ff + `"}`, []string{"\ufffd", "\ufffd"}},
		{"a split sequence", `{"a":"` + "\xc3" + `","b":"` + "\xa9" + `"}`, []string{"a", "b"}},
		{"deep", `{"d":` + deep + `}`, []string{"d" + strings.Repeat(".a[0]", 500)}},
		{"many", `{"a":[` + strings.Repeat(`"`+ff+`",`, 150) + `1]}`, nil}, // checked below: 100 named
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !json.Valid([]byte(tt.body)) {
				t.Fatalf("test body is not JSON: %q", tt.body)
			}
			o := newObj(nil, "")
			o.invalidUTF8([]byte(tt.body))
			var got []string
			for _, fe := range *o.f {
				got = append(got, fe.Field)
			}
			if tt.name == "many" {
				if len(got) != maxUTF8Errors || got[0] != "a[0]" || got[99] != "a[99]" {
					t.Fatalf("named %d: %q…", len(got), got[:3])
				}
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("paths = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTextProblem(t *testing.T) {
	t.Parallel()
	for s, bad := range map[string]bool{
		"": false, "wh_01abc": false, "é ü 日本": false, "\ufffd": false, "\t\n": false,
		"\x00": true, "a\x00b": true, "\xff": true, "\xc3\x28": true, "\xed\xa0\x80": true, // a surrogate
	} {
		for _, what := range []string{"", "key", "name"} {
			msg := textProblem(s, what)
			if got := !msg.IsZero(); got != bad {
				t.Errorf("textProblem(%q, %q) = %q, want bad %v", s, what, msg, bad)
			}
			if bad && !strings.HasPrefix(msg.String(), strings.TrimSpace(what+" must")) {
				t.Errorf("textProblem(%q, %q) = %q, want it to start with %q", s, what, msg, what+" must")
			}
		}
	}
}
