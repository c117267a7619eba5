-- Every webhook gets a number, 1, 2, 3, … within its tenant in order of
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
