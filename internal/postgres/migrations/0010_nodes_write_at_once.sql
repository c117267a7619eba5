-- Message seqs (the order of a group's messages, see 0001) come from a
-- sequence: PostgreSQL nodes now publish at once, each in its own
-- transaction, and max(seq) + 1 would give two of them the same number.
-- A transaction takes a block of 64 numbers with one nextval (see
-- sqlstore.Dialect.SeqBlock) and numbers its messages from it; a group's
-- messages are numbered by transactions that hold the group's lock one
-- after the other, so a later block always holds larger numbers.
-- Numbers a transaction did not use are skipped.
CREATE SEQUENCE messages_seq AS BIGINT INCREMENT BY 64 MINVALUE 1;
SELECT setval('messages_seq', (SELECT coalesce(max(seq), 0) + 1 FROM messages), false);

-- Delivery statistics get a shard: each store (node) adds its Complete
-- calls' counts to rows of its own shard, and the readers, which sum
-- rows already, sum the shards too. Without it the Complete calls of all
-- nodes would queue for one row per webhook and 5-minute bucket, each
-- holding it until its commit.
ALTER TABLE delivery_stats ADD COLUMN shard BIGINT NOT NULL DEFAULT 0;
ALTER TABLE delivery_stats DROP CONSTRAINT delivery_stats_pkey;
ALTER TABLE delivery_stats ADD PRIMARY KEY (tenant_id, webhook_id, bucket, shard);
