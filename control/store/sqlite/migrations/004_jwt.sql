-- JWT authentication: revoked token ids, and the key sets fetched from providers' jwks_uri.
CREATE TABLE revocations (
	jti        TEXT PRIMARY KEY,
	expires_at TIMESTAMP NOT NULL,
	created_at TIMESTAMP NOT NULL,
	created_by TEXT NOT NULL
);

CREATE TABLE jwks (
	uri        TEXT PRIMARY KEY,
	keys       TEXT NOT NULL,
	fetched_at TIMESTAMP NOT NULL
);
