-- Portal links the dashboard lists and revokes (hookd.SessionStore).
--
-- A link is no longer deleted when it is used: it is marked (used_at),
-- so that its tenant's admins see which links were used, which expired
-- unused and which were revoked. Sweep deletes a link a week after it
-- expired (hookd.PortalLinkRetention). Each link has an id to name it
-- (the token hash is a secret's digest: it is never shown), a label, and
-- who made it. A session opened by a link keeps the link's id, so that
-- revoking a used link ends its session too.
ALTER TABLE portal_links ADD COLUMN id TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE portal_links ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE portal_links ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE portal_links ADD COLUMN used_at BIGINT;
ALTER TABLE portal_links ADD COLUMN revoked_at BIGINT;
-- Links made before this migration get an id from their hash (unique as
-- it is; never the token itself).
UPDATE portal_links SET id = 'pl_' || substr(token_hash, 1, 26) WHERE id = '';
CREATE UNIQUE INDEX portal_links_id ON portal_links (id);
CREATE INDEX portal_links_tenant ON portal_links (tenant_id, created_at);

ALTER TABLE ui_sessions ADD COLUMN link_id TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX ui_sessions_link ON ui_sessions (link_id) WHERE link_id <> '';
