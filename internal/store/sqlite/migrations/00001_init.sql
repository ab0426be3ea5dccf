-- +goose Up
-- Times are microseconds since the Unix epoch, UTC. Lists are JSON arrays.

CREATE TABLE users (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	created       INTEGER NOT NULL,
	name          TEXT NOT NULL UNIQUE,
	email         TEXT NOT NULL DEFAULT '',
	admin         INTEGER NOT NULL DEFAULT 0,
	password_hash BLOB
);

CREATE TABLE tokens (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created   INTEGER NOT NULL,
	expires   INTEGER NOT NULL DEFAULT 0, -- 0: never
	name      TEXT NOT NULL DEFAULT '',
	grants    TEXT NOT NULL,
	last_used INTEGER NOT NULL DEFAULT 0,
	hash      BLOB NOT NULL UNIQUE
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE job_groups (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	created    INTEGER NOT NULL,
	owner_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	note       TEXT NOT NULL DEFAULT '',
	fired      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE group_triggers (
	group_id    INTEGER NOT NULL REFERENCES job_groups(id) ON DELETE CASCADE,
	position    INTEGER NOT NULL,
	action      TEXT NOT NULL,
	condition   TEXT NOT NULL,
	mail_to     TEXT NOT NULL DEFAULT '',
	mail_cc     TEXT NOT NULL DEFAULT '',
	in_reply_to TEXT NOT NULL DEFAULT '',
	url         TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (group_id, position)
);

-- Jobs and tasks are never deleted, so a plain INTEGER PRIMARY KEY (the
-- rowid) already grows strictly, as cursors need, without the extra page
-- write per insert that AUTOINCREMENT costs.
CREATE TABLE jobs (
	id         INTEGER PRIMARY KEY,
	created    INTEGER NOT NULL,
	updated    INTEGER NOT NULL,
	owner_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	manifest   TEXT NOT NULL,
	note       TEXT NOT NULL DEFAULT '',
	tags       TEXT NOT NULL DEFAULT '[]',
	tag_path   TEXT NOT NULL DEFAULT '', -- tags joined with '/', for prefix filters
	visibility TEXT NOT NULL,
	status     TEXT NOT NULL,
	image      TEXT NOT NULL DEFAULT '',
	arch       TEXT NOT NULL DEFAULT '',
	runner     TEXT NOT NULL DEFAULT '',
	group_id   INTEGER REFERENCES job_groups(id) ON DELETE SET NULL,
	secrets    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_owner ON jobs(owner_id, id);
CREATE INDEX jobs_status ON jobs(status, id);
CREATE INDEX jobs_group ON jobs(group_id) WHERE group_id IS NOT NULL;

CREATE TABLE tasks (
	id       INTEGER PRIMARY KEY,
	job_id   INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	created  INTEGER NOT NULL,
	updated  INTEGER NOT NULL,
	name     TEXT NOT NULL,
	status   TEXT NOT NULL,
	UNIQUE (job_id, name)
);

CREATE TABLE artifacts (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	job_id  INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	created INTEGER NOT NULL,
	path    TEXT NOT NULL,
	name    TEXT NOT NULL,
	size    INTEGER NOT NULL,
	url     TEXT NOT NULL,
	UNIQUE (job_id, name)
);

-- data is sealed by internal/secretbox, bound to uuid.
CREATE TABLE secrets (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	uuid     TEXT NOT NULL UNIQUE,
	owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created  INTEGER NOT NULL,
	name     TEXT, -- NULL when unnamed, so that UNIQUE ignores it
	kind     TEXT NOT NULL,
	path     TEXT NOT NULL DEFAULT '',
	mode     INTEGER NOT NULL DEFAULT 0,
	data     BLOB NOT NULL,
	UNIQUE (owner_id, name)
);
CREATE INDEX secrets_owner ON secrets(owner_id, id);

CREATE TABLE webhooks (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created INTEGER NOT NULL,
	url     TEXT NOT NULL,
	events  TEXT NOT NULL DEFAULT '[]',
	query   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhooks_user ON webhooks(user_id);

CREATE TABLE ssh_keys (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created     INTEGER NOT NULL,
	fingerprint TEXT NOT NULL,
	key         TEXT NOT NULL,
	comment     TEXT NOT NULL DEFAULT '',
	UNIQUE (user_id, fingerprint)
);

-- +goose Down
DROP TABLE ssh_keys;
DROP TABLE webhooks;
DROP TABLE secrets;
DROP TABLE artifacts;
DROP TABLE tasks;
DROP TABLE jobs;
DROP TABLE group_triggers;
DROP TABLE job_groups;
DROP TABLE tokens;
DROP TABLE users;
