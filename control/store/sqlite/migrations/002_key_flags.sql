-- API key flags read by the routes' admin and staff guards. Existing keys get neither.
ALTER TABLE api_keys ADD COLUMN is_admin BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE api_keys ADD COLUMN is_staff BOOLEAN NOT NULL DEFAULT FALSE;
