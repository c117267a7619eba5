-- key_check holds one value sealed under the key that seals the webhooks'
-- secrets (see sqlstore.Store.SealAtStart): a hookd process started with
-- another key than the others sharing the database refuses to start, even
-- while no webhook exists yet, instead of sealing secrets that the others
-- cannot open.
CREATE TABLE key_check (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    sealed TEXT NOT NULL
);
