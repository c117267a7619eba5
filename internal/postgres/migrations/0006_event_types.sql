-- Each tenant's event type catalogue (docs/API.md, "Event types"): the
-- types it declares, with an optional JSON Schema of their payloads
-- (compact JSON text, NULL for none). Listed by name, per tenant; names
-- compare bytewise, as the cursors of the list must.
CREATE TABLE event_types (
	tenant_id      TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name           TEXT COLLATE "C" NOT NULL,
	description    TEXT COLLATE "C" NOT NULL,
	payload_schema TEXT COLLATE "C",
	archived       BIGINT NOT NULL DEFAULT 0,
	created_at     BIGINT NOT NULL,
	updated_at     BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, name)
);
