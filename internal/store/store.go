// Package store declares what the service keeps in its database. The
// sqlite and postgres sub-packages implement it, and storetest holds the one
// conformance suite both pass.
//
// Every method translates driver errors into domain errors: a missing row is
// build.ENOTFOUND, a uniqueness clash build.ECONFLICT, a forbidden status
// change build.ECONFLICT. Implementations are safe for concurrent use.
//
// Opening one: sqlite.Open(ctx, path, key) or postgres.Open(ctx, connString,
// key), where key is the 32-byte secret-encryption key (see secretbox), then
// Migrate(ctx) once, since Open never changes the schema by itself.
package store

import (
	"context"
	"regexp"
	"time"

	"builds/internal/build"
)

// Users stores local accounts.
type Users interface {
	CreateUser(ctx context.Context, u *build.User) error // fills ID, Created; name taken: ECONFLICT
	UserByID(ctx context.Context, id int64) (*build.User, error)
	UserByName(ctx context.Context, name string) (*build.User, error)
	// SetPassword stores a password hash (the caller hashes) and, in the
	// same transaction, ends every session of the user.
	SetPassword(ctx context.Context, userID int64, hash []byte) error
	PasswordHash(ctx context.Context, userID int64) ([]byte, error)
}

// Tokens stores personal access tokens by the hash of their secret value.
type Tokens interface {
	CreateToken(ctx context.Context, t *build.Token, hash []byte) error // fills ID, Created
	// TokenByHash returns the unexpired token with that hash and its user,
	// or ENOTFOUND. It records the use in LastUsed, at most once a minute per
	// token so that authenticating a request rarely costs a write.
	TokenByHash(ctx context.Context, hash []byte) (*build.Token, *build.User, error)
	ListTokens(ctx context.Context, userID int64) ([]*build.Token, error)
	RevokeToken(ctx context.Context, userID, tokenID int64) error // ENOTFOUND unless userID owns it
}

// Sessions stores signed-in web sessions by the hash of the secret their
// cookie carries, and the login links already used.
type Sessions interface {
	// CreateSession stores a session of userID that ends at expires; it
	// forgets the user's expired sessions. An unknown user is ENOTFOUND.
	CreateSession(ctx context.Context, hash []byte, userID int64, expires time.Time) error
	// SessionUser returns the user of the unexpired session with that hash,
	// or ENOTFOUND.
	SessionUser(ctx context.Context, hash []byte) (*build.User, error)
	// DeleteSession ends one session; ending one that does not exist is not
	// an error, so that logging out twice is harmless.
	DeleteSession(ctx context.Context, hash []byte) error
	// DeleteUserSessions ends every session of userID and says how many
	// there were.
	DeleteUserSessions(ctx context.Context, userID int64) (int, error)
	// UseLoginLink records that the login link with that nonce was used and
	// reports whether it was the first use. It forgets links whose expiry
	// has passed, which are refused before they get here.
	UseLoginLink(ctx context.Context, nonce string, expires time.Time) (bool, error)
}

// JobFilter selects jobs for a listing. Zero fields select everything.
type JobFilter struct {
	OwnerID    int64
	TagPrefix  []string // jobs whose tags start with these, in order
	Status     []build.JobStatus
	Visibility []build.Visibility
	Before     int64 // cursor: only jobs with ID < Before
	Limit      int   // default 20, at most 100
	// Image selects jobs on that image (as stored, e.g. "debian/bookworm");
	// NoteContains those whose note holds the text, case-insensitively
	// for ASCII letters.
	Image        string
	NoteContains string
}

// Jobs stores jobs and their tasks.
type Jobs interface {
	// CreateJob stores j and its tasks in one transaction, filling IDs,
	// timestamps and Owner. Status and Visibility must be valid (EINVALID);
	// tasks with an empty status start pending. An unknown owner is
	// ENOTFOUND.
	CreateJob(ctx context.Context, j *build.Job) error
	// Job returns the job with its tasks, or ENOTFOUND.
	Job(ctx context.Context, id int64) (*build.Job, error)
	// ListJobs returns jobs newest first, with tasks, and the cursor for the
	// next page (0 when there is none).
	ListJobs(ctx context.Context, f JobFilter) ([]*build.Job, int64, error)
	// CountJobs returns how many jobs match f, all pages together: the
	// Before cursor and Limit are ignored.
	CountJobs(ctx context.Context, f JobFilter) (int64, error)
	// SetJobStatus moves a job to status to, checking the transition rules
	// atomically, and records runner when it is not empty. It returns the
	// updated job.
	SetJobStatus(ctx context.Context, id int64, to build.JobStatus, runner string) (*build.Job, error)
	// SetTaskStatus moves one task, checking the transition rules
	// atomically; ENOTFOUND when the job has no such task.
	SetTaskStatus(ctx context.Context, jobID int64, task string, to build.TaskStatus) error
	// JobsByStatus returns the IDs of jobs in the given status, oldest
	// first, at most limit of them (all when limit <= 0).
	JobsByStatus(ctx context.Context, s build.JobStatus, limit int) ([]int64, error)
	// SetJobVisibility changes a job's visibility: EINVALID for an unknown
	// one, ENOTFOUND for an unknown job.
	SetJobVisibility(ctx context.Context, id int64, v build.Visibility) error
}

// Groups stores job groups.
type Groups interface {
	// CreateGroup stores g and sets GroupID on its jobs, which must exist,
	// belong to g.OwnerID and be in no other group (else ECONFLICT).
	CreateGroup(ctx context.Context, g *build.Group) error
	Group(ctx context.Context, id int64) (*build.Group, error)
	// ClaimGroupTriggers records that the group's triggers fire now. It
	// returns true to exactly one caller per group, so that triggers fire
	// once even when the last two jobs end at the same moment.
	ClaimGroupTriggers(ctx context.Context, id int64) (bool, error)
}

// Artifacts stores uploaded artifacts' metadata.
type Artifacts interface {
	// AddArtifact fills ID and Created; a second artifact with the same
	// Name in one job is ECONFLICT.
	AddArtifact(ctx context.Context, a *build.Artifact) error
	// ListArtifacts returns a job's artifacts in upload order.
	ListArtifacts(ctx context.Context, jobID int64) ([]*build.Artifact, error)
}

// Secrets stores users' secrets. Data is encrypted by the store with the
// key it was opened with; Secret and SecretByName return it decrypted,
// ListSecrets leaves it empty. Sharing a secret is Secret followed by
// CreateSecret with the other owner and an empty UUID.
type Secrets interface {
	CreateSecret(ctx context.Context, s *build.Secret) error // fills ID, UUID if empty, Created
	Secret(ctx context.Context, uuid string) (*build.Secret, error)
	SecretByName(ctx context.Context, ownerID int64, name string) (*build.Secret, error)
	// ListSecrets pages newest first like ListJobs: before is the cursor
	// (0 for the first page), limit defaults to 20 and is at most 100.
	ListSecrets(ctx context.Context, ownerID int64, before int64, limit int) ([]*build.Secret, int64, error)
	// DeleteSecret is ENOTFOUND unless ownerID owns the secret.
	DeleteSecret(ctx context.Context, ownerID int64, uuid string) error
}

// Webhooks stores users' GraphQL webhook subscriptions.
type Webhooks interface {
	CreateWebhook(ctx context.Context, w *build.Webhook) error // fills ID, Created
	Webhook(ctx context.Context, id int64) (*build.Webhook, error)
	ListWebhooks(ctx context.Context, userID int64) ([]*build.Webhook, error)
	DeleteWebhook(ctx context.Context, userID, id int64) error // ENOTFOUND unless userID owns it
}

// SSHKeys stores users' public keys for SSH access to builds.
type SSHKeys interface {
	AddSSHKey(ctx context.Context, k *build.SSHPublicKey) error // same fingerprint twice for a user: ECONFLICT
	ListSSHKeys(ctx context.Context, userID int64) ([]*build.SSHPublicKey, error)
	DeleteSSHKey(ctx context.Context, userID, id int64) error // ENOTFOUND unless userID owns it
}

// Store is everything at once, as the sqlite and postgres packages offer it.
type Store interface {
	Users
	Sessions
	Tokens
	Jobs
	Groups
	Artifacts
	Secrets
	Webhooks
	SSHKeys
	Ping(ctx context.Context) error
	Close() error
}

// Now is the clock stores use; tests may not replace it, it exists so that
// every timestamp is UTC and truncated the same way in both databases.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// SecretReader is what SecretByRef reads.
type SecretReader interface {
	Secret(ctx context.Context, uuid string) (*build.Secret, error)
	SecretByName(ctx context.Context, ownerID int64, name string) (*build.Secret, error)
}

// SecretByRef finds a secret of owner the way manifests name them: by UUID,
// or else by name. Another user's secret is never returned; a reference
// that names none of owner's secrets is build.ENOTFOUND.
func SecretByRef(ctx context.Context, s SecretReader, owner int64, ref string) (*build.Secret, error) {
	if IsUUID(ref) {
		sec, err := s.Secret(ctx, ref)
		if err == nil && sec.OwnerID == owner {
			return sec, nil
		}
		if err != nil && build.ErrorCode(err) != build.ENOTFOUND {
			return nil, err
		}
	}
	return s.SecretByName(ctx, owner, ref)
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsUUID reports whether ref has the form of a secret's UUID; secret names
// may not, so that a reference is never ambiguous.
func IsUUID(ref string) bool { return uuidPattern.MatchString(ref) }
