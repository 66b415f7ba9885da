-- The rate-limit tier an API key picks (policy rate_limit_tiers); '' is none, so the policy's
-- "default" tier applies. Existing keys get none. The partial index serves the check that a
-- policy update keeps every tier that keys still name.
ALTER TABLE api_keys ADD COLUMN tier text NOT NULL DEFAULT '';
CREATE INDEX api_keys_tier ON api_keys (tier) WHERE tier <> '';
