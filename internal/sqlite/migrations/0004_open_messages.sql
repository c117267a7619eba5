-- The unfinished messages of each webhook. Holding a webhook's messages
-- (suspend, disable), releasing them (unsuspend, enable) and aborting them
-- (delete) touch exactly these; since 0003 they read every message the
-- webhook still keeps through messages_webhook, which grows with retention
-- (40-70 ms for 200k kept messages, holding the writer). A message enters
-- this index at publish and leaves it when it finishes: two index writes
-- in its life, where messages_webhook_state took three.
CREATE INDEX messages_open ON messages (webhook_id, state) WHERE state IN ('created', 'pending', 'retrying');
