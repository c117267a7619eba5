package sqlite

import "github.com/hookd/hookd"

// The dashboard's store methods are the shared ones (sqlstore/dashboard.go).
var (
	_ hookd.SessionStore     = (*DB)(nil)
	_ hookd.StatsStore       = (*DB)(nil)
	_ hookd.BulkMessageStore = (*DB)(nil)
)
