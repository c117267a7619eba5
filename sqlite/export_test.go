package sqlite

import "context"

// QueuedPublishes returns how many Publish calls wait for the writer, for
// tests that line calls up behind a blocked writer.
func QueuedPublishes(db *DB) int { return len(db.pubQueue) }

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
