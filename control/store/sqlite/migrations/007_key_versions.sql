-- The snapshot versions that created and last changed each key, so that the publisher reads only
-- the keys a new version changed (a delta built from the write) instead of every key. The store
-- sets both when the writing transaction bumps the version (0 until then). Keys of an older
-- schema count as created and changed by the current version.
ALTER TABLE api_keys ADD COLUMN created_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN changed_version INTEGER NOT NULL DEFAULT 0;
UPDATE api_keys SET created_version = (SELECT version FROM state WHERE id = 1),
	changed_version = (SELECT version FROM state WHERE id = 1);
CREATE INDEX api_keys_changed_version ON api_keys (changed_version);
-- Revoked keys stay (the audit names them); counting the live ones is every key less the
-- revoked ones, which this partial index counts without reading the table.
CREATE INDEX api_keys_revoked ON api_keys (revoked_at) WHERE revoked_at IS NOT NULL;
