-- Initial schema. Times are INTEGER unix milliseconds (UTC); complex webhook
-- fields are JSON text. Messages keep a rowid alias (seq) that orders a
-- group's messages by insertion.

CREATE TABLE tenants (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
	id           TEXT PRIMARY KEY,
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	scopes       TEXT NOT NULL,
	token_hash   TEXT NOT NULL UNIQUE,
	prefix       TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);

CREATE TABLE webhooks (
	id                  TEXT PRIMARY KEY,
	tenant_id           TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name                TEXT NOT NULL,
	description         TEXT NOT NULL,
	url                 TEXT NOT NULL,
	url_norm            TEXT NOT NULL,
	enabled             INTEGER NOT NULL,
	event_types         TEXT NOT NULL,
	filter              TEXT NOT NULL,
	headers             TEXT NOT NULL,
	auth                TEXT NOT NULL,
	secrets             TEXT NOT NULL,
	timeout_ms          INTEGER NOT NULL,
	max_retries         INTEGER NOT NULL,
	retry_schedule      TEXT NOT NULL,
	grouped             INTEGER NOT NULL,
	continue_on_failure INTEGER NOT NULL,
	suspend_after_ns    INTEGER NOT NULL,
	rate_limit          INTEGER NOT NULL,
	suspended           INTEGER NOT NULL DEFAULT 0,
	suspended_at        INTEGER,
	failing_since       INTEGER,
	created_at          INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL,
	UNIQUE (tenant_id, url_norm)
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id, id);

CREATE TABLE events (
	id              TEXT PRIMARY KEY,
	tenant_id       TEXT NOT NULL,
	type            TEXT NOT NULL,
	payload         TEXT NOT NULL,
	group_name      TEXT NOT NULL,
	attributes      TEXT NOT NULL,
	idempotency_key TEXT NOT NULL,
	created_at      INTEGER NOT NULL
);
CREATE INDEX events_tenant ON events (tenant_id, id);
CREATE INDEX events_created ON events (created_at);

CREATE TABLE idempotency_keys (
	tenant_id   TEXT NOT NULL,
	key         TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	event_id    TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	UNIQUE (tenant_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE messages (
	seq              INTEGER PRIMARY KEY,
	id               TEXT NOT NULL UNIQUE,
	tenant_id        TEXT NOT NULL,
	webhook_id       TEXT NOT NULL,
	event_id         TEXT NOT NULL,
	event_type       TEXT NOT NULL,
	event_group      TEXT NOT NULL,
	-- group_key is the event's group when the webhook was grouped at
	-- publish, '' otherwise; it never changes.
	group_key        TEXT NOT NULL,
	state            TEXT NOT NULL,
	attempt_count    INTEGER NOT NULL DEFAULT 0,
	tries            INTEGER NOT NULL DEFAULT 0,
	next_attempt_at  INTEGER,
	-- due_at is set only while the message is claimable (created or
	-- retrying, not held) or leased (then it is the lease's end).
	due_at           INTEGER,
	lease            INTEGER NOT NULL DEFAULT 0,
	manual           INTEGER NOT NULL DEFAULT 0,
	last_attempt_at  INTEGER,
	last_status_code INTEGER NOT NULL DEFAULT 0,
	last_error       TEXT NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL
);
-- Claim and NextDue read only this index: its size is the number of due,
-- leased and soon-due messages, never the held or finished ones.
CREATE INDEX messages_due ON messages (due_at) WHERE due_at IS NOT NULL;
-- The unfinished (and failed, which may block) messages of each group.
CREATE INDEX messages_group ON messages (webhook_id, group_key, seq)
	WHERE group_key != '' AND state IN ('created', 'pending', 'retrying', 'failed');
CREATE INDEX messages_webhook_state ON messages (webhook_id, state, created_at);
CREATE INDEX messages_webhook ON messages (webhook_id, id);
CREATE INDEX messages_tenant ON messages (tenant_id, id);
CREATE INDEX messages_event ON messages (event_id);
CREATE INDEX messages_sweep ON messages (updated_at)
	WHERE state IN ('successful', 'failed', 'aborted', 'resolved');

CREATE TABLE attempts (
	id            TEXT PRIMARY KEY,
	tenant_id     TEXT NOT NULL,
	message_id    TEXT NOT NULL,
	webhook_id    TEXT NOT NULL,
	number        INTEGER NOT NULL,
	trigger       TEXT NOT NULL,
	started_at    INTEGER NOT NULL,
	duration_ms   INTEGER NOT NULL,
	status_code   INTEGER NOT NULL,
	error         TEXT NOT NULL,
	response_body TEXT NOT NULL,
	success       INTEGER NOT NULL
);
CREATE INDEX attempts_message ON attempts (message_id, id);
CREATE INDEX attempts_tenant ON attempts (tenant_id);
