package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrate applies the migrations in fsys (migrations/NNNN_name.sql), in
// order, up to version upTo, each in its own transaction of tx together
// with its schema_version row, so that processes starting at once apply
// each exactly once (the store's write transactions are serial). script
// runs a migration's statements in tx: several statements, so not through
// the store's prepared or rebound path. The schema_version table must
// exist.
func Migrate(ctx context.Context, fsys fs.FS, upTo int,
	tx func(ctx context.Context, fn func(tx Conn) error) error,
	script func(ctx context.Context, tx Conn, body string) error) error {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("migration %s: name must start with a number and '_'", base)
		}
		if version > upTo {
			break
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", base, err)
		}
		err = tx(ctx, func(tx Conn) error {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_version WHERE version = ?", version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if err := script(ctx, tx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
				version, base, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %s: %w", base, err)
		}
	}
	return nil
}

// AppliedMigration is a migration as schema_version records it.
type AppliedMigration struct {
	Version   int
	Name      string // the file's name, 0010_nodes_write_at_once.sql
	AppliedAt time.Time
}

// AppliedMigrations returns the migrations applied to the store's
// database, in version order.
func (s *Store) AppliedMigrations(ctx context.Context) ([]AppliedMigration, error) {
	var out []AppliedMigration
	err := QueryRows(ctx, s.Read, "SELECT version, name, applied_at FROM schema_version ORDER BY version", nil,
		func(rows *sql.Rows) error {
			var m AppliedMigration
			var at int64
			err := rows.Scan(&m.Version, &m.Name, &at)
			m.AppliedAt = FromMS(at)
			out = append(out, m)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("read schema_version: %w", err)
	}
	return out, nil
}
