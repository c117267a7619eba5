-- hookd's schema on PostgreSQL: the SQLite store's schema after its
-- migration 0004. Times are BIGINT unix milliseconds (UTC), booleans BIGINT
-- 0 or 1; complex webhook fields are JSON text. Text compares bytewise
-- (COLLATE "C"), as ids and cursors must. messages.seq orders a group's
-- messages by insertion: each new message gets max(seq) + 1, numbered
-- under the write lock (see db.go).

CREATE TABLE tenants (
	id         TEXT COLLATE "C" PRIMARY KEY,
	name       TEXT COLLATE "C" NOT NULL,
	created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
	id           TEXT COLLATE "C" PRIMARY KEY,
	tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name         TEXT COLLATE "C" NOT NULL,
	scopes       TEXT COLLATE "C" NOT NULL,
	token_hash   TEXT COLLATE "C" NOT NULL UNIQUE,
	prefix       TEXT COLLATE "C" NOT NULL,
	created_at   BIGINT NOT NULL,
	last_used_at BIGINT
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);

CREATE TABLE webhooks (
	id                  TEXT COLLATE "C" PRIMARY KEY,
	tenant_id           TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name                TEXT COLLATE "C" NOT NULL,
	description         TEXT COLLATE "C" NOT NULL,
	url                 TEXT COLLATE "C" NOT NULL,
	url_norm            TEXT COLLATE "C" NOT NULL,
	enabled             BIGINT NOT NULL,
	event_types         TEXT COLLATE "C" NOT NULL,
	filter              TEXT COLLATE "C" NOT NULL,
	headers             TEXT COLLATE "C" NOT NULL,
	auth                TEXT COLLATE "C" NOT NULL,
	secrets             TEXT COLLATE "C" NOT NULL,
	timeout_ms          BIGINT NOT NULL,
	max_retries         BIGINT NOT NULL,
	retry_schedule      TEXT COLLATE "C" NOT NULL,
	grouped             BIGINT NOT NULL,
	continue_on_failure BIGINT NOT NULL,
	suspend_after_ns    BIGINT NOT NULL,
	rate_limit          BIGINT NOT NULL,
	suspended           BIGINT NOT NULL DEFAULT 0,
	suspended_at        BIGINT,
	failing_since       BIGINT,
	created_at          BIGINT NOT NULL,
	updated_at          BIGINT NOT NULL,
	UNIQUE (tenant_id, url_norm)
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id, id);

CREATE TABLE events (
	id              TEXT COLLATE "C" PRIMARY KEY,
	tenant_id       TEXT COLLATE "C" NOT NULL,
	type            TEXT COLLATE "C" NOT NULL,
	payload         TEXT COLLATE "C" NOT NULL,
	group_name      TEXT COLLATE "C" NOT NULL,
	attributes      TEXT COLLATE "C" NOT NULL,
	idempotency_key TEXT COLLATE "C" NOT NULL,
	created_at      BIGINT NOT NULL
);
CREATE INDEX events_tenant ON events (tenant_id, id);
CREATE INDEX events_created ON events (created_at);

CREATE TABLE idempotency_keys (
	tenant_id   TEXT COLLATE "C" NOT NULL,
	key         TEXT COLLATE "C" NOT NULL,
	fingerprint TEXT COLLATE "C" NOT NULL,
	event_id    TEXT COLLATE "C" NOT NULL,
	created_at  BIGINT NOT NULL,
	UNIQUE (tenant_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE messages (
	seq              BIGINT PRIMARY KEY,
	id               TEXT COLLATE "C" NOT NULL UNIQUE,
	tenant_id        TEXT COLLATE "C" NOT NULL,
	webhook_id       TEXT COLLATE "C" NOT NULL,
	event_id         TEXT COLLATE "C" NOT NULL,
	event_type       TEXT COLLATE "C" NOT NULL,
	event_group      TEXT COLLATE "C" NOT NULL,
	-- group_key is the event's group when the webhook was grouped at
	-- publish, '' otherwise; it never changes.
	group_key        TEXT COLLATE "C" NOT NULL,
	state            TEXT COLLATE "C" NOT NULL,
	attempt_count    BIGINT NOT NULL DEFAULT 0,
	tries            BIGINT NOT NULL DEFAULT 0,
	next_attempt_at  BIGINT,
	-- due_at is set only while the message is claimable (created or
	-- retrying, not held) or leased (then it is the lease's end).
	due_at           BIGINT,
	lease            BIGINT NOT NULL DEFAULT 0,
	manual           BIGINT NOT NULL DEFAULT 0,
	last_attempt_at  BIGINT,
	last_status_code BIGINT NOT NULL DEFAULT 0,
	last_error       TEXT COLLATE "C" NOT NULL DEFAULT '',
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	-- test marks the messages of CreateTestMessage (see message.go).
	test             BIGINT NOT NULL DEFAULT 0
);
-- Claim and NextDue read only this index: its size is the number of due,
-- leased and soon-due messages, never the held or finished ones.
CREATE INDEX messages_due ON messages (due_at) WHERE due_at IS NOT NULL;
-- The unfinished (and failed, which may block) messages of each group.
CREATE INDEX messages_group ON messages (webhook_id, group_key, seq)
	WHERE group_key != '' AND state IN ('created', 'pending', 'retrying', 'failed');
CREATE INDEX messages_failed_webhook ON messages (webhook_id, created_at) WHERE state = 'failed';
CREATE INDEX messages_failed ON messages (tenant_id, id) WHERE state = 'failed';
CREATE INDEX messages_open ON messages (webhook_id, state) WHERE state IN ('created', 'pending', 'retrying');
CREATE INDEX messages_webhook ON messages (webhook_id, id);
CREATE INDEX messages_tenant ON messages (tenant_id, id);
CREATE INDEX messages_event ON messages (event_id);
CREATE INDEX messages_sweep ON messages (updated_at)
	WHERE state IN ('successful', 'failed', 'aborted', 'resolved');

CREATE TABLE attempts (
	id            TEXT COLLATE "C" PRIMARY KEY,
	tenant_id     TEXT COLLATE "C" NOT NULL,
	message_id    TEXT COLLATE "C" NOT NULL,
	webhook_id    TEXT COLLATE "C" NOT NULL,
	number        BIGINT NOT NULL,
	trigger       TEXT COLLATE "C" NOT NULL,
	started_at    BIGINT NOT NULL,
	duration_ms   BIGINT NOT NULL,
	status_code   BIGINT NOT NULL,
	error         TEXT COLLATE "C" NOT NULL,
	response_body TEXT COLLATE "C" NOT NULL,
	success       BIGINT NOT NULL
);
CREATE INDEX attempts_message ON attempts (message_id, id);
