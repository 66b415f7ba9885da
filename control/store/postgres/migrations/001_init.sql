-- Portcullis control server schema, PostgreSQL.
CREATE TABLE state (
	id                integer PRIMARY KEY CHECK (id = 1),
	version           bigint NOT NULL CHECK (version > 0),
	updated_at        timestamptz NOT NULL,
	policy            text NOT NULL,
	policy_version    bigint NOT NULL,
	policy_updated_at timestamptz NOT NULL,
	signing_key       text
);

CREATE TABLE api_keys (
	seq           bigserial PRIMARY KEY,
	id            text NOT NULL UNIQUE,
	name          text NOT NULL,
	prefix        text NOT NULL,
	sha256        text NOT NULL UNIQUE,
	active        boolean NOT NULL,
	allowed_paths text NOT NULL,
	permissions   text NOT NULL,
	expires_at    timestamptz,
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL,
	revoked_at    timestamptz,
	last_used_at  timestamptz,
	use_count     bigint NOT NULL DEFAULT 0
);

CREATE TABLE tokens (
	seq        bigserial PRIMARY KEY,
	id         text NOT NULL UNIQUE,
	kind       text NOT NULL,
	role       text NOT NULL,
	name       text NOT NULL,
	prefix     text NOT NULL,
	sha256     text NOT NULL UNIQUE,
	created_at timestamptz NOT NULL,
	created_by text NOT NULL,
	revoked_at timestamptz
);

CREATE TABLE audit (
	id      bigserial PRIMARY KEY,
	at      timestamptz NOT NULL,
	actor   text NOT NULL,
	action  text NOT NULL,
	target  text NOT NULL,
	version bigint NOT NULL,
	before  text,
	after   text
);
