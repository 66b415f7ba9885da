-- Inbound webhook verifiers. Secrets are sealed (AES-GCM under the master key, see
-- control/seal) before they reach the database; the hints are the last characters, for display.
CREATE TABLE webhooks (
	seq               bigserial PRIMARY KEY,
	name              text NOT NULL UNIQUE,
	preset            text NOT NULL,
	secret            bytea NOT NULL,
	secret_hint       text NOT NULL,
	next_secret       bytea,
	next_secret_hint  text NOT NULL DEFAULT '',
	tolerance_seconds integer NOT NULL DEFAULT 0,
	url               text NOT NULL DEFAULT '',
	replay_protection boolean NOT NULL DEFAULT false,
	created_at        timestamptz NOT NULL,
	updated_at        timestamptz NOT NULL
);
