-- Each tenant's event type catalogue (docs/API.md, "Event types"): the
-- types it declares, with an optional JSON Schema of their payloads
-- (compact JSON text, NULL for none). Listed by name, per tenant.
CREATE TABLE event_types (
	tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name           TEXT NOT NULL,
	description    TEXT NOT NULL,
	payload_schema TEXT,
	archived       INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, name)
) WITHOUT ROWID;
