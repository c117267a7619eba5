-- The dashboard's tables and indexes (package ui, hookd.SessionStore and
-- hookd.StatsStore).
--
-- Sign-in sessions and one-use portal links live in the database, hashed,
-- so that every process on a shared store knows them; Sweep deletes the
-- expired ones.
CREATE TABLE ui_sessions (
	token_hash      TEXT COLLATE "C" PRIMARY KEY,
	credential_hash TEXT COLLATE "C" NOT NULL,
	tenant_id       TEXT COLLATE "C" NOT NULL,
	scopes          TEXT COLLATE "C" NOT NULL,
	created_at      BIGINT NOT NULL,
	expires_at      BIGINT NOT NULL
);
CREATE INDEX ui_sessions_expires ON ui_sessions (expires_at);

CREATE TABLE portal_links (
	token_hash     TEXT COLLATE "C" PRIMARY KEY,
	tenant_id      TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	read_only      BIGINT NOT NULL,
	session_ttl_ms BIGINT NOT NULL,
	created_at     BIGINT NOT NULL,
	expires_at     BIGINT NOT NULL
);
CREATE INDEX portal_links_expires ON portal_links (expires_at);

-- Delivery statistics per webhook and 5-minute bucket (hookd.StatsBucket),
-- added to by Complete for each round of outcomes (one upsert per webhook
-- and bucket, not per attempt): attempts, successes, and a histogram of
-- durations (l0..l25, bins of hookd.LatencyBounds). The health columns and
-- charts read a few hundred of these rows instead of every attempt.
CREATE TABLE delivery_stats (
	tenant_id  TEXT COLLATE "C" NOT NULL,
	webhook_id TEXT COLLATE "C" NOT NULL,
	bucket     BIGINT NOT NULL,
	attempts   BIGINT NOT NULL,
	successes  BIGINT NOT NULL,
	l0  BIGINT NOT NULL DEFAULT 0,
	l1  BIGINT NOT NULL DEFAULT 0,
	l2  BIGINT NOT NULL DEFAULT 0,
	l3  BIGINT NOT NULL DEFAULT 0,
	l4  BIGINT NOT NULL DEFAULT 0,
	l5  BIGINT NOT NULL DEFAULT 0,
	l6  BIGINT NOT NULL DEFAULT 0,
	l7  BIGINT NOT NULL DEFAULT 0,
	l8  BIGINT NOT NULL DEFAULT 0,
	l9  BIGINT NOT NULL DEFAULT 0,
	l10 BIGINT NOT NULL DEFAULT 0,
	l11 BIGINT NOT NULL DEFAULT 0,
	l12 BIGINT NOT NULL DEFAULT 0,
	l13 BIGINT NOT NULL DEFAULT 0,
	l14 BIGINT NOT NULL DEFAULT 0,
	l15 BIGINT NOT NULL DEFAULT 0,
	l16 BIGINT NOT NULL DEFAULT 0,
	l17 BIGINT NOT NULL DEFAULT 0,
	l18 BIGINT NOT NULL DEFAULT 0,
	l19 BIGINT NOT NULL DEFAULT 0,
	l20 BIGINT NOT NULL DEFAULT 0,
	l21 BIGINT NOT NULL DEFAULT 0,
	l22 BIGINT NOT NULL DEFAULT 0,
	l23 BIGINT NOT NULL DEFAULT 0,
	l24 BIGINT NOT NULL DEFAULT 0,
	l25 BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, webhook_id, bucket)
);
CREATE INDEX delivery_stats_bucket ON delivery_stats (bucket);

-- Counting a tenant's messages of the last 24 h by state, capped, from
-- indexes alone (hookd.StatsStore.CountMessages). A window is a range of
-- ids (hookd.MinID). Total: messages_tenant; failed: messages_failed;
-- created, pending, retrying: messages_open, which gains the id (same
-- writes as before: a message enters it at publish and leaves it when it
-- ends); aborted, resolved: messages_ended, which the delivery path never
-- writes (only a manual abort or resolve, or a deleted webhook, does).
-- Successful is the rest.
DROP INDEX messages_open;
CREATE INDEX messages_open ON messages (webhook_id, state, id) WHERE state IN ('created', 'pending', 'retrying');
CREATE INDEX messages_ended ON messages (tenant_id, state, id) WHERE state IN ('aborted', 'resolved');
