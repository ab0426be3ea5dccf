-- +goose Up
-- Signed-in web sessions, by the SHA-256 of the secret in the cookie, so
-- that the table alone cannot be used to sign in. Deleting a row ends the
-- session at once (logout, password change, an administrator).
CREATE TABLE sessions (
	hash    BLOB PRIMARY KEY,
	user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created INTEGER NOT NULL,
	expires INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Login links already used, kept until they expire, so that a link works
-- once even across restarts.
CREATE TABLE used_login_links (
	nonce   TEXT PRIMARY KEY,
	expires INTEGER NOT NULL
);

-- +goose Down
DROP TABLE used_login_links;
DROP TABLE sessions;
