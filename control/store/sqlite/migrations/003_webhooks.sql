-- Inbound webhook verifiers. Secrets are sealed (AES-GCM under the master key, see
-- control/seal) before they reach the database; the hints are the last characters, for display.
CREATE TABLE webhooks (
	seq               INTEGER PRIMARY KEY AUTOINCREMENT,
	name              TEXT NOT NULL UNIQUE,
	preset            TEXT NOT NULL,
	secret            BLOB NOT NULL,
	secret_hint       TEXT NOT NULL,
	next_secret       BLOB,
	next_secret_hint  TEXT NOT NULL DEFAULT '',
	tolerance_seconds INTEGER NOT NULL DEFAULT 0,
	url               TEXT NOT NULL DEFAULT '',
	replay_protection BOOLEAN NOT NULL DEFAULT FALSE,
	created_at        TIMESTAMP NOT NULL,
	updated_at        TIMESTAMP NOT NULL
);
