package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hookd/hookd"
)

const eventTypeColumns = "tenant_id, name, description, payload_schema, archived, created_at, updated_at"

func scanEventType(sc interface{ Scan(...any) error }) (*hookd.EventType, error) {
	var et hookd.EventType
	var schema sql.NullString
	var archived, created, updated int64
	if err := sc.Scan(&et.TenantID, &et.Name, &et.Description, &schema, &archived, &created, &updated); err != nil {
		return nil, err
	}
	if schema.Valid {
		et.Schema = []byte(schema.String)
	}
	et.Archived = archived != 0
	et.CreatedAt, et.UpdatedAt = FromMS(created), FromMS(updated)
	return &et, nil
}

// schemaText is the stored form of a schema: its text, or NULL for none.
func schemaText(s []byte) any {
	if len(s) == 0 {
		return nil
	}
	return string(s)
}

// CreateEventType stores et; ECONFLICT (ExistingID: the name) for a name
// the tenant has or a tenant at hookd.MaxEventTypesPerTenant types,
// ENOTFOUND without tenant.
func (s *Store) CreateEventType(ctx context.Context, et *hookd.EventType) error {
	if et.CreatedAt.IsZero() {
		et.CreatedAt = s.now()
	}
	if et.UpdatedAt.IsZero() {
		et.UpdatedAt = et.CreatedAt
	}
	et.CreatedAt, et.UpdatedAt = FromMS(MS(et.CreatedAt)), FromMS(MS(et.UpdatedAt))
	err := s.Tx(ctx, func(tx Conn) error {
		if ok, err := tenantExists(ctx, tx, et.TenantID); err != nil {
			return err
		} else if !ok {
			return hookd.Errorf(hookd.ENOTFOUND, "tenant not found")
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM event_types WHERE tenant_id = ?", et.TenantID).Scan(&n); err != nil {
			return err
		}
		if n >= hookd.MaxEventTypesPerTenant {
			return hookd.Errorf(hookd.ECONFLICT, "the tenant has %d event types, the most it may have; delete unused ones with ?expunge=true", n)
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO event_types ("+eventTypeColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
			et.TenantID, et.Name, et.Description, schemaText(et.Schema), BoolInt(et.Archived), MS(et.CreatedAt), MS(et.UpdatedAt))
		if s.Dialect.IsUniqueViolation(err) {
			e := hookd.Errorf(hookd.ECONFLICT, "event type %q exists", et.Name)
			e.ExistingID = et.Name
			return e
		}
		return err
	})
	if err != nil && hookd.ErrorCode(err) == hookd.EINTERNAL {
		return fmt.Errorf("create event type: %w", err)
	}
	return err
}

// GetEventType returns the tenant's type of that name; ENOTFOUND.
func (s *Store) GetEventType(ctx context.Context, tenantID, name string) (*hookd.EventType, error) {
	et, err := scanEventType(s.Fixed.QueryRowContext(ctx,
		"SELECT "+eventTypeColumns+" FROM event_types WHERE tenant_id = ? AND name = ?", tenantID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "event type not found")
	} else if err != nil {
		return nil, fmt.Errorf("get event type: %w", err)
	}
	return et, nil
}

// ListEventTypes returns one page of the tenant's types in name order;
// ENOTFOUND without tenant.
func (s *Store) ListEventTypes(ctx context.Context, tenantID string, f hookd.EventTypeFilter) ([]*hookd.EventType, error) {
	if ok, err := tenantExists(ctx, s.Read, tenantID); err != nil {
		return nil, err
	} else if !ok {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "tenant not found")
	}
	q := "SELECT " + eventTypeColumns + " FROM event_types WHERE tenant_id = ? AND name > ?"
	if !f.IncludeArchived {
		q += " AND archived = 0"
	}
	return queryList(ctx, s.Fixed, "event types", q+" ORDER BY name LIMIT ?",
		[]any{tenantID, f.After, limitOf(f.Page)}, scanEventType)
}

// UpdateEventType replaces the type's description, schema and archived
// flag; ENOTFOUND.
func (s *Store) UpdateEventType(ctx context.Context, et *hookd.EventType) error {
	et.UpdatedAt = s.now()
	err := s.Tx(ctx, func(tx Conn) error {
		var created int64
		err := tx.QueryRowContext(ctx, `UPDATE event_types SET description = ?, payload_schema = ?, archived = ?, updated_at = ?
			WHERE tenant_id = ? AND name = ? RETURNING created_at`,
			et.Description, schemaText(et.Schema), BoolInt(et.Archived), MS(et.UpdatedAt), et.TenantID, et.Name).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return hookd.Errorf(hookd.ENOTFOUND, "event type not found")
		} else if err != nil {
			return err
		}
		et.CreatedAt = FromMS(created)
		return nil
	})
	if err != nil && hookd.ErrorCode(err) == hookd.EINTERNAL {
		return fmt.Errorf("update event type: %w", err)
	}
	return err
}

// DeleteEventType removes the type; ENOTFOUND.
func (s *Store) DeleteEventType(ctx context.Context, tenantID, name string) error {
	res, err := s.Exec(ctx, "DELETE FROM event_types WHERE tenant_id = ? AND name = ?", tenantID, name)
	if err != nil {
		return fmt.Errorf("delete event type: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return hookd.Errorf(hookd.ENOTFOUND, "event type not found")
	}
	return nil
}
