package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hookd/hookd/internal/seal"
)

// Options are what a SQL store is opened with besides its address.
type Options struct {
	// Keys seal the webhooks' signing secrets and auth credentials (the
	// secrets and auth columns) at rest. Nil stores them in plain text,
	// as hookd did before it sealed them; hookd serve always gives keys,
	// and a store without them fails to read a sealed row.
	Keys *seal.Keyring
	// StatsFlush is the longest delivery statistics wait in memory before
	// they are written (see statsbuffer.go); 0 is StatsFlushInterval.
	StatsFlush time.Duration
}

// Option sets one of the Options.
type Option func(*Options)

// WithKeys seals the webhooks' secrets under keys; see Options.Keyring.
func WithKeys(keys *seal.Keyring) Option { return func(o *Options) { o.Keys = keys } }

// WithStatsFlush makes delivery statistics wait at most d in memory
// instead of StatsFlushInterval: what a test sets to see them wait, or be
// written, without waiting 5 s.
func WithStatsFlush(d time.Duration) Option { return func(o *Options) { o.StatsFlush = d } }

// NewOptions applies opts to the zero Options.
func NewOptions(opts []Option) Options {
	var o Options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// The sealed columns of webhooks.
const (
	colAuth    = "auth"
	colSecrets = "secrets"
)

// plainNull is the JSON null of a webhook without auth (or secrets): it
// holds nothing secret and is never sealed, so that a plain "null" does
// not count as a secret left in plain text.
const plainNull = "null"

// sealedAD is the associated data of a sealed column: the value opens only
// in the row and column it was sealed for, so that a value copied into
// another webhook's row (by someone who can write the database but lacks
// the key) does not open there.
func sealedAD(webhookID, column string) []byte {
	return []byte("hookd/webhooks/" + webhookID + "/" + column)
}

// sealColumn returns the stored form of a sealed column's JSON text.
func (s *Store) sealColumn(webhookID, column, plain string) string {
	if s.Keyring == nil || plain == plainNull {
		return plain
	}
	return s.Keyring.Seal([]byte(plain), sealedAD(webhookID, column))
}

// openColumn returns the JSON text of a sealed column as stored: opened
// when sealed, as is when still plain (a row written before hookd sealed
// secrets, until the start-up pass seals it).
func (s *Store) openColumn(webhookID, column, stored string) (string, error) {
	if !seal.IsSealed(stored) {
		return stored, nil
	}
	if s.Keyring == nil {
		return "", fmt.Errorf("webhook %s: its %s column is encrypted and the store was opened without the encryption key", webhookID, column)
	}
	plain, err := s.Keyring.Open(stored, sealedAD(webhookID, column))
	if err != nil {
		return "", openError(webhookID, column, err)
	}
	return string(plain), nil
}

// openError says what to do about a value that does not open.
func openError(webhookID, column string, err error) error {
	hint := ""
	switch {
	case errors.Is(err, seal.ErrUnknownKey):
		hint = ": start hookd with the key that sealed it (--encryption-key-file, or --previous-encryption-key-file during a rotation)"
	case errors.Is(err, seal.ErrAuth):
		hint = ": the value was altered or copied from another row"
	}
	return fmt.Errorf("webhook %s: decrypt %s: %w%s", webhookID, column, err, hint)
}

// sealWebhook returns enc, encoded for the webhook id, with its secret
// columns sealed.
func (s *Store) sealWebhook(id string, enc webhookJSON) webhookJSON {
	enc.auth = s.sealColumn(id, colAuth, enc.auth)
	enc.secrets = s.sealColumn(id, colSecrets, enc.secrets)
	return enc
}

// resealBatch is how many webhooks SealAtStart and Rekey rewrite in one
// write transaction: short enough not to hold the writer from deliveries
// for long (a few ms), large enough that a big table needs few.
const resealBatch = 200

// SealAtStart checks the keys against the store's key check (see
// checkKey), then seals the secrets and auth of every webhook still
// stored in plain text (rows of a hookd that did not seal them) under the
// current key, and fails, naming a webhook and the key, when a value is
// sealed under a key the store was not given: started with another key,
// hookd would fail every delivery of those webhooks. The stores run it
// when opened with keys. Rows sealed under a previous key are left to
// Rekey: nodes sharing a PostgreSQL store may not all hold the new key
// yet.
func (s *Store) SealAtStart(ctx context.Context) (int, error) {
	if s.Keyring == nil {
		return 0, errors.New("seal secrets: the store was opened without encryption keys")
	}
	if err := s.Tx(ctx, func(tx Conn) error { return s.checkKey(ctx, tx, false) }); err != nil {
		return 0, err
	}
	return s.reseal(ctx, false, resealBatch)
}

// keyCheckAD is the associated data of the key check's value.
var keyCheckAD = []byte("hookd/key_check")

// checkKey fails unless the keyring opens the value of the table
// key_check, sealed by the first hookd that opened the store with keys
// (checkKey writes it when there is none). Without it, hookd processes
// given different keys on a PostgreSQL store that has no sealed webhook
// yet would each start, and seal secrets the others cannot open; the
// check on the webhooks' rows alone (reseal) finds them only once there
// are some. update rewrites the value under the current key (Rekey).
func (s *Store) checkKey(ctx context.Context, tx Conn, update bool) error {
	cur := s.Keyring.Current().ID()
	var stored string
	err := tx.QueryRowContext(ctx, "SELECT sealed FROM key_check WHERE id = 1").Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		_, err := tx.ExecContext(ctx, "INSERT INTO key_check (id, sealed) VALUES (1, ?)", s.Keyring.Seal([]byte("hookd"), keyCheckAD))
		if err != nil {
			return fmt.Errorf("write key check: %w", err)
		}
		return nil
	} else if err != nil {
		return fmt.Errorf("read key check: %w", err)
	}
	if _, err := s.Keyring.Open(stored, keyCheckAD); err != nil {
		id, _ := seal.KeyIDOf(stored)
		return fmt.Errorf("this store's secrets are encrypted under key %s, and hookd was given key %s: "+
			"start it with key %s (--encryption-key-file, or --previous-encryption-key-file during a rotation): %w",
			id, cur, id, err)
	}
	if id, _ := seal.KeyIDOf(stored); update && id != cur {
		if _, err := tx.ExecContext(ctx, "UPDATE key_check SET sealed = ? WHERE id = 1",
			s.Keyring.Seal([]byte("hookd"), keyCheckAD)); err != nil {
			return fmt.Errorf("write key check: %w", err)
		}
	}
	return nil
}

// Rekey rewrites under the current key the secrets and auth of every
// webhook not sealed under it: plain text, or sealed under a previous key.
// It runs batch webhooks per write transaction (0: a default), so
// deliveries go on meanwhile, and returns how many webhooks it rewrote; a
// second run finds nothing left to do. It fails on a value sealed under a
// key it was not given, after rewriting the batches before it.
func (s *Store) Rekey(ctx context.Context, batch int) (int, error) {
	if batch <= 0 {
		batch = resealBatch
	}
	n, err := s.reseal(ctx, true, batch)
	if err != nil {
		return n, err
	}
	// Last: until every secret is under the current key, the check must
	// still let in the processes that hold only the previous one.
	if err := s.Tx(ctx, func(tx Conn) error { return s.checkKey(ctx, tx, true) }); err != nil {
		return n, err
	}
	return n, nil
}

// reseal walks the webhooks whose secret columns are not sealed under the
// current key, in id order, batch by batch: plain values are sealed,
// values under an unknown key fail, and values under a previous key are
// rewritten when all is set.
func (s *Store) reseal(ctx context.Context, all bool, batch int) (int, error) {
	if s.Keyring == nil {
		return 0, errors.New("reseal: the store was opened without encryption keys")
	}
	cur := seal.Prefix + s.Keyring.Current().ID() + ":%"
	q := `SELECT id, auth, secrets FROM webhooks WHERE id > ? AND
		((auth != 'null' AND auth NOT LIKE ?) OR (secrets != 'null' AND secrets NOT LIKE ?)) ORDER BY id LIMIT ?`
	total := 0
	after := ""
	for {
		n, more := 0, false
		err := s.Tx(ctx, func(tx Conn) error {
			type row struct{ id, auth, secrets string }
			var rows []row
			err := QueryRows(ctx, tx, q, []any{after, cur, cur, batch}, func(r *sql.Rows) error {
				var x row
				err := r.Scan(&x.id, &x.auth, &x.secrets)
				rows = append(rows, x)
				return err
			})
			if err != nil {
				return err
			}
			more = len(rows) == batch
			for _, r := range rows {
				after = r.id
				auth, ch1, err := s.resealColumn(r.id, colAuth, r.auth, all)
				if err != nil {
					return err
				}
				secrets, ch2, err := s.resealColumn(r.id, colSecrets, r.secrets, all)
				if err != nil {
					return err
				}
				if !ch1 && !ch2 {
					continue
				}
				// updated_at stays: nothing about the webhook changed.
				if _, err := tx.ExecContext(ctx, "UPDATE webhooks SET auth = ?, secrets = ? WHERE id = ?",
					auth, secrets, r.id); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("seal webhook secrets: %w", err)
		}
		total += n
		if !more {
			return total, nil
		}
	}
}

// resealColumn returns the stored value a column should have and whether
// that differs from stored; see reseal.
func (s *Store) resealColumn(id, column, stored string, all bool) (string, bool, error) {
	if stored == plainNull {
		return stored, false, nil
	}
	if !seal.IsSealed(stored) {
		return s.sealColumn(id, column, stored), true, nil
	}
	keyID, _ := seal.KeyIDOf(stored)
	if keyID == s.Keyring.Current().ID() {
		return stored, false, nil
	}
	if !all {
		if !s.Keyring.Has(keyID) {
			return "", false, openError(id, column, fmt.Errorf("key %s: %w", keyID, seal.ErrUnknownKey))
		}
		return stored, false, nil
	}
	plain, err := s.openColumn(id, column, stored)
	if err != nil {
		return "", false, err
	}
	return s.sealColumn(id, column, plain), true, nil
}
