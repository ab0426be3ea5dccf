-- +goose Up
-- Optional times (token expiry, last use) are NULL when unset.

CREATE TABLE users (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	created       timestamptz NOT NULL,
	name          text NOT NULL UNIQUE,
	email         text NOT NULL DEFAULT '',
	admin         boolean NOT NULL DEFAULT false,
	password_hash bytea
);

CREATE TABLE tokens (
	id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id   bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created   timestamptz NOT NULL,
	expires   timestamptz,
	name      text NOT NULL DEFAULT '',
	grants    text NOT NULL,
	last_used timestamptz,
	hash      bytea NOT NULL UNIQUE
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE job_groups (
	id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	created  timestamptz NOT NULL,
	owner_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	note     text NOT NULL DEFAULT '',
	fired    boolean NOT NULL DEFAULT false
);

CREATE TABLE group_triggers (
	group_id    bigint NOT NULL REFERENCES job_groups(id) ON DELETE CASCADE,
	position    integer NOT NULL,
	action      text NOT NULL,
	condition   text NOT NULL,
	mail_to     text NOT NULL DEFAULT '',
	mail_cc     text NOT NULL DEFAULT '',
	in_reply_to text NOT NULL DEFAULT '',
	url         text NOT NULL DEFAULT '',
	PRIMARY KEY (group_id, position)
);

CREATE TABLE jobs (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	created    timestamptz NOT NULL,
	updated    timestamptz NOT NULL,
	owner_id   bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	manifest   text NOT NULL,
	note       text NOT NULL DEFAULT '',
	tags       text[] NOT NULL DEFAULT '{}',
	tag_path   text NOT NULL DEFAULT '', -- tags joined with '/', for prefix filters
	visibility text NOT NULL,
	status     text NOT NULL,
	image      text NOT NULL DEFAULT '',
	arch       text NOT NULL DEFAULT '',
	runner     text NOT NULL DEFAULT '',
	group_id   bigint REFERENCES job_groups(id) ON DELETE SET NULL,
	secrets    boolean NOT NULL DEFAULT false
);
CREATE INDEX jobs_owner ON jobs(owner_id, id);
CREATE INDEX jobs_status ON jobs(status, id);
CREATE INDEX jobs_group ON jobs(group_id) WHERE group_id IS NOT NULL;

CREATE TABLE tasks (
	id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	job_id  bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	created timestamptz NOT NULL,
	updated timestamptz NOT NULL,
	name    text NOT NULL,
	status  text NOT NULL,
	UNIQUE (job_id, name)
);

CREATE TABLE artifacts (
	id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	job_id  bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	created timestamptz NOT NULL,
	path    text NOT NULL,
	name    text NOT NULL,
	size    bigint NOT NULL,
	url     text NOT NULL,
	UNIQUE (job_id, name)
);

-- data is sealed by internal/secretbox, bound to uuid.
CREATE TABLE secrets (
	id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	uuid     text NOT NULL UNIQUE,
	owner_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created  timestamptz NOT NULL,
	name     text, -- NULL when unnamed, so that UNIQUE ignores it
	kind     text NOT NULL,
	path     text NOT NULL DEFAULT '',
	mode     integer NOT NULL DEFAULT 0,
	data     bytea NOT NULL,
	UNIQUE (owner_id, name)
);
CREATE INDEX secrets_owner ON secrets(owner_id, id);

CREATE TABLE webhooks (
	id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created timestamptz NOT NULL,
	url     text NOT NULL,
	events  text[] NOT NULL DEFAULT '{}',
	query   text NOT NULL DEFAULT ''
);
CREATE INDEX webhooks_user ON webhooks(user_id);

CREATE TABLE ssh_keys (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created     timestamptz NOT NULL,
	fingerprint text NOT NULL,
	key         text NOT NULL,
	comment     text NOT NULL DEFAULT '',
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
