-- test marks the messages of CreateTestMessage (webhook tests): they are
-- leased to their caller at creation, never claimable, never held, and an
-- open one is ended by ReleaseLeases. Before this column such a message was
-- created, leased and had no due_at; only a test message can look like
-- that, so the open ones are marked here.
ALTER TABLE messages ADD COLUMN test INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET test = 1 WHERE state = 'created' AND lease != 0 AND due_at IS NULL;
