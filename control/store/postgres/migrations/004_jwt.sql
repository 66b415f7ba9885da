-- JWT authentication: revoked token ids, and the key sets fetched from providers' jwks_uri.
CREATE TABLE revocations (
	jti        text PRIMARY KEY,
	expires_at timestamptz NOT NULL,
	created_at timestamptz NOT NULL,
	created_by text NOT NULL
);

CREATE TABLE jwks (
	uri        text PRIMARY KEY,
	keys       text NOT NULL,
	fetched_at timestamptz NOT NULL
);
