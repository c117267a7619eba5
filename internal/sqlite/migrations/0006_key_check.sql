-- key_check holds one value sealed under the key that seals the webhooks'
-- secrets (see sqlstore.Store.SealAtStart): a hookd started with another
-- key refuses to start even while no webhook exists yet, instead of
-- sealing secrets that the hookd before it cannot open.
CREATE TABLE key_check (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    sealed TEXT NOT NULL
);
