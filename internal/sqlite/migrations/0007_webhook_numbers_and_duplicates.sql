-- Two changes for the seeds' APIs (issue 14).
--
-- 1. Every webhook gets a number, 1, 2, 3, … within its tenant in order of
-- creation, never reused (the seeds' APIs use integer ids). The tenant's
-- webhook_seq is the last number it gave out; CreateWebhook increments it
-- in its transaction, and a delete leaves it alone. Existing webhooks are
-- numbered in id order, which is their order of creation (ids are made in
-- the write transaction).
ALTER TABLE tenants ADD COLUMN webhook_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN number INTEGER NOT NULL DEFAULT 0;
UPDATE webhooks SET number = r.n
	FROM (SELECT id, row_number() OVER (PARTITION BY tenant_id ORDER BY id) AS n FROM webhooks) AS r
	WHERE webhooks.id = r.id;
UPDATE tenants SET webhook_seq = coalesce((SELECT max(number) FROM webhooks WHERE webhooks.tenant_id = tenants.id), 0);
CREATE UNIQUE INDEX webhooks_number ON webhooks (tenant_id, number);

-- 2. A duplicate is a webhook of the tenant with the same normalised URL
-- and the same filter (two parties register one URL each), no longer the
-- same URL alone. dup_key is hookd.Webhook.DuplicateKey: url_norm, a line
-- feed and the filter as JSON with sorted keys ("{}" when empty; the
-- filter column was written by the same encoder, "null" for none). The
-- table's UNIQUE (tenant_id, url_norm) cannot be dropped without copying
-- the table (which would also drop any column a later migration adds to a
-- copy it does not know); renaming its column keeps the constraint, now
-- on the new key, and url_norm comes back as a plain column.
ALTER TABLE webhooks RENAME COLUMN url_norm TO dup_key;
ALTER TABLE webhooks ADD COLUMN url_norm TEXT NOT NULL DEFAULT '';
UPDATE webhooks SET url_norm = dup_key,
	dup_key = dup_key || char(10) || CASE WHEN filter IN ('null', '{}') THEN '{}' ELSE filter END;
CREATE INDEX webhooks_url ON webhooks (tenant_id, url_norm);
