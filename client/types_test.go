package client_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/client"
)

func TestOptionalJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   client.WebhookPatch
		want string
	}{
		{"absent", client.WebhookPatch{}, `{}`},
		{"null", client.WebhookPatch{Auth: client.Null[client.Auth](), RetrySchedule: client.Null[[]client.Duration]()}, `{"auth":null,"retry_schedule":null}`},
		{"zero values are values", client.WebhookPatch{Enabled: client.Set(false), MaxRetries: client.Set(0), Description: client.Set("")},
			`{"description":"","enabled":false,"max_retries":0}`},
		{"values", client.WebhookPatch{EventTypes: client.Set([]string{"A"}), FailureHandling: client.Set(client.FailureHandling{SuspendAfter: client.Duration(2 * time.Hour)})},
			`{"event_types":["A"],"failure_handling":{"suspend_after":"2h"}}`},
		{"an empty list is a value", client.WebhookPatch{Secrets: client.Set([]string{})}, `{"secrets":[]}`},
		{"add and remove", client.WebhookPatch{AddEventTypes: []string{"B"}, RemoveHeaders: []string{"X"}}, `{"add_event_types":["B"],"remove_headers":["X"]}`},
	} {
		got, err := json.Marshal(&tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if !jsonEqual(t, got, []byte(tc.want)) {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
		var back client.WebhookPatch
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		again, _ := json.Marshal(&back)
		if !jsonEqual(t, again, got) {
			t.Errorf("%s: decoded and written again: %s, want %s", tc.name, again, got)
		}
	}
	o := client.Set(3)
	if v, ok := o.Get(); !ok || v != 3 || o.IsNull() || o.IsZero() {
		t.Errorf("Set(3) = %v %v", v, ok)
	}
	if n := client.Null[int](); !n.IsNull() || n.IsZero() {
		t.Error("Null")
	}
}

func TestWebhookInputJSON(t *testing.T) {
	t.Parallel()
	got, _ := json.Marshal(&client.WebhookInput{Name: "n", Enabled: client.Ptr(false), MaxRetries: client.Ptr(0)})
	if want := `{"name":"n","enabled":false,"max_retries":0}`; string(got) != want {
		t.Errorf("%s, want %s", got, want)
	}
	got, _ = json.Marshal(&client.WebhookInput{Name: "n"})
	if want := `{"name":"n"}`; string(got) != want {
		t.Errorf("%s, want %s: every default left to the server", got, want)
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{120 * time.Hour, "120h"}, {5 * time.Minute, "5m"}, {90 * time.Second, "1m30s"},
		{0, "0s"}, {1500 * time.Millisecond, "1.5s"}, {time.Hour + time.Second, "1h0m1s"},
	} {
		if got := client.Duration(tc.d).String(); got != tc.want {
			t.Errorf("Duration(%v) = %q, want %q", tc.d, got, tc.want)
		}
		var back client.Duration
		if err := json.Unmarshal([]byte(`"`+tc.want+`"`), &back); err != nil || time.Duration(back) != tc.d {
			t.Errorf("decode %q = %v, %v", tc.want, back, err)
		}
	}
	d := client.Duration(time.Minute)
	for _, bad := range []string{`5`, `"5 minutes"`, `""`} {
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("decode %s: no error", bad)
		}
	}
	if err := json.Unmarshal([]byte(`null`), &d); err != nil || time.Duration(d) != time.Minute {
		t.Errorf("decode null: %v, %v; want it left alone", d, err)
	}
}

// TestEnumsMatchTheServer: the client's scopes and states are the
// server's, so that neither drifts.
func TestEnumsMatchTheServer(t *testing.T) {
	t.Parallel()
	var scopes []string
	for _, s := range hookd.Scopes {
		scopes = append(scopes, string(s))
	}
	var got []string
	for _, s := range client.Scopes {
		got = append(got, string(s))
	}
	if !slices.Equal(got, scopes) {
		t.Errorf("scopes %q, server's %q", got, scopes)
	}
	var states []string
	for _, s := range hookd.States {
		states = append(states, string(s))
	}
	got = nil
	for _, s := range client.States {
		got = append(got, string(s))
	}
	if !slices.Equal(got, states) {
		t.Errorf("states %q, server's %q", got, states)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return string(ja) == string(jb)
}
