package sqlite

import (
	"context"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlstore"
)

// QueuedPublishes returns how many Publish calls wait for the writer, for
// tests that line calls up behind a blocked writer.
func QueuedPublishes(db *DB) int { return len(db.pub.C) }

// ReceivedCalls returns how many calls the writer has taken off its queue
// to start a round with.
func ReceivedCalls(db *DB) int64 { return db.received.Load() }

// WriterSynchronous runs an empty write transaction at the level of
// Publish and API writes (normal false) or of Claim and Complete (normal
// true) and returns the PRAGMA synchronous it ran with (1 NORMAL, 2 FULL).
func WriterSynchronous(db *DB, normal bool) (int, error) {
	level := syncFull
	if normal {
		level = syncNormal
	}
	var v int
	err := db.txSync(context.Background(), level, func(tx *wtx) error {
		return tx.Tx.QueryRow("PRAGMA synchronous").Scan(&v)
	})
	return v, err
}

// OpenAtVersion is Open applying only the migrations up to version: a
// database as a hookd of that schema left it.
func OpenAtVersion(ctx context.Context, path string, version int) (*DB, error) {
	return open(ctx, path, version, sqlstore.Options{})
}

// Queries whose plans TestQueryPlans checks.
var (
	RecoverQuery              = sqlstore.RecoverQuery
	ListAttemptsQuery         = sqlstore.ListAttemptsQuery
	DeleteTenantAttemptsQuery = sqlstore.DeleteTenantAttempts
	HoldQuery                 = sqlstore.HoldQuery
	ReleaseQuery              = sqlstore.ReleaseQuery
	AbortWebhookQuery         = sqlstore.AbortWebhookQuery
)

// CountMessagesRow is the dashboard's count of one tenant's messages.
var CountMessagesRow = sqlstore.CountMessagesRow

// ListMessagesQuery returns the query and arguments ListMessages runs.
func ListMessagesQuery(tenantID string, f hookd.MessageFilter) (string, []any) {
	return sqlstore.ListMessagesQuery(tenantID, f)
}

// QueryPlan returns the detail lines of EXPLAIN QUERY PLAN for query, as
// the store's own connections plan it.
func QueryPlan(db *DB, query string, args ...any) ([]string, error) {
	rows, err := db.read.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		out = append(out, detail)
	}
	return out, rows.Err()
}

// ObserveRounds makes the writer report each round once it ran: its
// synchronous level ("FULL" or "NORMAL") and its calls' kinds in order
// (P publish, C complete, L claim). Set it before the first call.
func ObserveRounds(db *DB, f func(level string, kinds string)) {
	db.onRound = func(level syncLevel, calls []*publishCall) {
		name := "FULL"
		if level == syncNormal {
			name = "NORMAL"
		}
		kinds := ""
		for _, c := range calls {
			switch {
			case c.claim != nil:
				kinds += "L"
			case c.outs != nil:
				kinds += "C"
			default:
				kinds += "P"
			}
		}
		f(name, kinds)
	}
}

// LastSynchronous is the PRAGMA synchronous level the writer connection
// ran its last transaction at (1 NORMAL, 2 FULL).
func LastSynchronous(db *DB) int {
	if db.sync == syncNormal {
		return 1
	}
	return 2
}

// CountMatchingQuery returns the statement and arguments
// CountMessagesMatching runs.
func CountMatchingQuery(tenantID string, f hookd.MessageFilter) (string, []any) {
	q, args, _ := sqlstore.CountMatchingQuery(tenantID, f)
	return q, args
}
