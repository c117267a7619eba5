package sqlstore

import (
	"database/sql"
	"strings"

	"github.com/hookd/hookd"
)

// What a store needs to read a claim's events and webhooks in the
// statement that leases its messages (the PostgreSQL store's Claim):
// their columns, and their scanners.

// WebhookColumns are the columns ScanWebhook reads, in order.
const WebhookColumns = webhookColumns

// ScanWebhook scans WebhookColumns, opening the sealed columns with the
// store's keys.
func (s *Store) ScanWebhook(sc interface{ Scan(...any) error }) (*hookd.Webhook, error) {
	return s.scanWebhook(sc)
}

// Qualified returns the comma-separated columns cols, each prefixed with
// table and a dot: for a statement that joins tables whose columns share
// names.
func Qualified(table, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = table + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// ColumnCount returns how many columns the comma-separated list cols has.
func ColumnCount(cols string) int { return strings.Count(cols, ",") + 1 }

// SkipScanner scans a row's columns from Skip on: a row that holds more
// than one thing (a message, its event, its webhook) is scanned once per
// thing, each scanner passing over the columns before its own (into
// Discard).
type SkipScanner struct {
	Rows *sql.Rows
	Skip int
}

// Scan scans the columns from s.Skip on into dest.
func (s SkipScanner) Scan(dest ...any) error {
	all := make([]any, s.Skip, s.Skip+len(dest))
	for i := range all[:s.Skip] {
		all[i] = Discard{}
	}
	return s.Rows.Scan(append(all, dest...)...)
}

// Discard is a scan destination that keeps nothing, copies nothing and
// takes any value, NULL too.
type Discard struct{}

// Scan does nothing.
func (Discard) Scan(any) error { return nil }
