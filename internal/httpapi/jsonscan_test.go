package httpapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzJSONScan checks members, items and unquote against encoding/json on
// every valid JSON value (the only input they are given).
func FuzzJSONScan(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `null`, `"x"`, `1`, `true`, ` { "a" : 1 , "b":[1, {"c":"]"}], "a":2 } `,
		`{"k\u00e9y":"v\n","x":"\ud800"}`, `["a", "b\"", {"c": null}, 1e3, -0.5]`,
		"{\"a\":\"\xff\"}", `"\\"`, `{"":""}`, `[[[]]]`, `{"a":{"b":{"c":[]}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		var wantM map[string]json.RawMessage
		wantMOK := json.Unmarshal(raw, &wantM) == nil && wantM != nil
		gotM, gotMOK := members(raw)
		if gotMOK != wantMOK || (wantMOK && !equalRaw(gotM, wantM)) {
			t.Fatalf("members(%q) = %q, %v; json.Unmarshal: %q, %v", raw, gotM, gotMOK, wantM, wantMOK)
		}
		var wantL []json.RawMessage
		wantLOK := json.Unmarshal(raw, &wantL) == nil && wantL != nil
		gotL, gotLOK := items(raw)
		if gotLOK != wantLOK || (wantLOK && !reflect.DeepEqual(gotL, wantL)) {
			t.Fatalf("items(%q) = %q, %v; json.Unmarshal: %q, %v", raw, gotL, gotLOK, wantL, wantLOK)
		}
		var wantS string
		wantSOK := json.Unmarshal(raw, &wantS) == nil && bytes.TrimSpace(raw)[0] == '"'
		if gotS, gotSOK := unquote(raw); gotSOK != wantSOK || gotS != wantS {
			t.Fatalf("unquote(%q) = %q, %v; json.Unmarshal: %q, %v", raw, gotS, gotSOK, wantS, wantSOK)
		}
		if got, want := compact(raw), mustCompact(t, raw); string(got) != string(want) {
			t.Fatalf("compact(%q) = %q, want %q", raw, got, want)
		}
	})
}

func equalRaw(a, b map[string]json.RawMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || string(v) != string(w) {
			return false
		}
	}
	return true
}

func mustCompact(t *testing.T, raw []byte) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
