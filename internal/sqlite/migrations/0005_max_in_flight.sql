-- A webhook's bound on the attempts that run at once (max_in_flight in the
-- API); 0 is the server's default (--max-in-flight).
ALTER TABLE webhooks ADD COLUMN max_in_flight INTEGER NOT NULL DEFAULT 0;
