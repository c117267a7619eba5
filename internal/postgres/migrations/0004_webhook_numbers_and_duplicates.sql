-- Two changes for the seeds' APIs (issue 14).
--
-- 1. Every webhook gets a number, 1, 2, 3, … within its tenant in order of
-- creation, never reused (the seeds' APIs use integer ids). The tenant's
-- webhook_seq is the last number it gave out; CreateWebhook increments it
-- in its transaction, and a delete leaves it alone. Existing webhooks are
-- numbered in id order, which is their order of creation (ids are made in
-- the write transaction).
ALTER TABLE tenants ADD COLUMN webhook_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN number BIGINT NOT NULL DEFAULT 0;
UPDATE webhooks SET number = r.n
	FROM (SELECT id, row_number() OVER (PARTITION BY tenant_id ORDER BY id) AS n FROM webhooks) AS r
	WHERE webhooks.id = r.id;
UPDATE tenants SET webhook_seq = coalesce((SELECT max(number) FROM webhooks WHERE webhooks.tenant_id = tenants.id), 0);
CREATE UNIQUE INDEX webhooks_number ON webhooks (tenant_id, number);

-- 2. A duplicate is a webhook of the tenant with the same normalised URL
-- and the same filter (two parties register one URL each), no longer the
-- same URL alone. dup_key is hookd.Webhook.DuplicateKey: url_norm, a line
-- feed and the filter as JSON with sorted keys ("{}" when empty; the
-- filter column was written by the same encoder, "null" for none). Both
-- indexes hold md5s: a key may be longer than a B-tree entry may be
-- (about 2.7 kB: a filter may hold 50 pairs of up to 1,255 characters,
-- and even url_norm may be 6 kB, a 2,048-character path escaped), which
-- made creating such a webhook fail with a 500 under the old UNIQUE
-- (tenant_id, url_norm). The check before each write compares the keys
-- themselves (sqlstore's duplicate; the md5 only finds the rows).
ALTER TABLE webhooks ADD COLUMN dup_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE webhooks SET dup_key = url_norm || chr(10) || CASE WHEN filter IN ('null', '{}') THEN '{}' ELSE filter END;
ALTER TABLE webhooks DROP CONSTRAINT webhooks_tenant_id_url_norm_key;
CREATE UNIQUE INDEX webhooks_dup_key ON webhooks (tenant_id, md5(dup_key));
CREATE INDEX webhooks_url ON webhooks (tenant_id, md5(url_norm));
