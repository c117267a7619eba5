package postgres_test

import (
	"testing"

	"github.com/hookd/hookd/internal/postgres"
)

// A queued statement's placeholders follow those queued before it; a $ in
// a quoted literal is text.
func TestRenumber(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		query string
		off   int
		want  string
	}{
		{"SELECT $1, $2", 0, "SELECT $1, $2"},
		{"SELECT $1, $2", 3, "SELECT $4, $5"},
		{"UPDATE t SET a = $1::bigint WHERE b IN ($2, $10)", 10, "UPDATE t SET a = $11::bigint WHERE b IN ($12, $20)"},
		{"SELECT '$1', $1", 1, "SELECT '$1', $2"},
		{"SELECT 'it''s $2', $2", 5, "SELECT 'it''s $2', $7"},
		{"SELECT $", 2, "SELECT $"},
	} {
		if got := postgres.Renumber(tt.query, tt.off); got != tt.want {
			t.Errorf("Renumber(%q, %d) = %q, want %q", tt.query, tt.off, got, tt.want)
		}
	}
}
