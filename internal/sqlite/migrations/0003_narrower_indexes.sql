-- Fewer index entries to move per delivery outcome. Complete updates the
-- message row and inserts an attempt row, and was spending much of its time
-- maintaining indexes (BENCHMARKS.md, "Change 4: a narrower index set").
--
-- messages_webhook_state held every message and moved on every state
-- change. Its users only ever look for failed messages fast:
-- RecoverMessages (a webhook's failed messages created in a time range) and
-- the list of a tenant's failed messages. These partial indexes change only
-- when a message fails or leaves failed. A query can use them only if its
-- WHERE contains the term state = 'failed' literally (not a bound value).
-- Listing other states now reads the tenant's (or webhook's) messages in id
-- order through messages_tenant or messages_webhook.
DROP INDEX messages_webhook_state;
CREATE INDEX messages_failed_webhook ON messages (webhook_id, created_at) WHERE state = 'failed';
CREATE INDEX messages_failed ON messages (tenant_id, id) WHERE state = 'failed';

-- Only DeleteTenant filtered attempts by tenant alone; it now finds them
-- through the tenant's messages and attempts_message.
DROP INDEX attempts_tenant;
