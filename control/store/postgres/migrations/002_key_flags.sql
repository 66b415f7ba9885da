-- API key flags read by the routes' admin and staff guards. Existing keys get neither.
ALTER TABLE api_keys
	ADD COLUMN is_admin boolean NOT NULL DEFAULT false,
	ADD COLUMN is_staff boolean NOT NULL DEFAULT false;
