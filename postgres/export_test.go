package postgres

// WriteLock is the key of the advisory lock every write transaction takes,
// for tests that hold it to see who waits for it.
const WriteLock = writeLock

// OnRound makes db call fn with the number of Publish calls of each group
// commit, once committed.
func (db *DB) OnRound(fn func(calls int)) { db.pub.onRound = fn }
