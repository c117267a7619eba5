package sqlite

// QueuedPublishes returns how many Publish calls wait for the writer, for
// tests that line calls up behind a blocked writer.
func QueuedPublishes(db *DB) int { return len(db.pubQueue) }
