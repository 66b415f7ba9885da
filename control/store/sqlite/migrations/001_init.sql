-- Portcullis control server schema, SQLite. Times are TIMESTAMP text in a fixed-width UTC
-- format, so they sort and compare as text.
CREATE TABLE state (
	id                INTEGER PRIMARY KEY CHECK (id = 1),
	version           INTEGER NOT NULL CHECK (version > 0),
	updated_at        TIMESTAMP NOT NULL,
	policy            TEXT NOT NULL,
	policy_version    INTEGER NOT NULL,
	policy_updated_at TIMESTAMP NOT NULL,
	signing_key       TEXT
);

CREATE TABLE api_keys (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	id            TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	prefix        TEXT NOT NULL,
	sha256        TEXT NOT NULL UNIQUE,
	active        BOOLEAN NOT NULL,
	allowed_paths TEXT NOT NULL,
	permissions   TEXT NOT NULL,
	expires_at    TIMESTAMP,
	created_at    TIMESTAMP NOT NULL,
	updated_at    TIMESTAMP NOT NULL,
	revoked_at    TIMESTAMP,
	last_used_at  TIMESTAMP,
	use_count     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE tokens (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	id         TEXT NOT NULL UNIQUE,
	kind       TEXT NOT NULL,
	role       TEXT NOT NULL,
	name       TEXT NOT NULL,
	prefix     TEXT NOT NULL,
	sha256     TEXT NOT NULL UNIQUE,
	created_at TIMESTAMP NOT NULL,
	created_by TEXT NOT NULL,
	revoked_at TIMESTAMP
);

CREATE TABLE audit (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	at      TIMESTAMP NOT NULL,
	actor   TEXT NOT NULL,
	action  TEXT NOT NULL,
	target  TEXT NOT NULL,
	version INTEGER NOT NULL,
	before  TEXT,
	after   TEXT
);
