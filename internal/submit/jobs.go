package submit

import (
	"context"
	"fmt"

	"builds/internal/build"
	"builds/internal/manifest"
)

// Job returns the job with the given ID if user (nil for anonymous) may see
// it. A job the user may not see is reported as not found, so that private
// job IDs do not leak.
func (s *Service) Job(ctx context.Context, user *build.User, id int64) (*build.Job, error) {
	j, err := s.Store.Job(ctx, id)
	if err != nil {
		return nil, notFound(err, "job", id)
	}
	if !j.VisibleTo(userID(user)) {
		return nil, build.Errorf(build.ENOTFOUND, "no job with ID %d", id)
	}
	return j, nil
}

// ownJob returns the job if user owns it: EUNAUTHORIZED for anonymous
// callers, ENOTFOUND when the job does not exist or is invisible to user,
// EFORBIDDEN when user can see it but is not its owner.
func (s *Service) ownJob(ctx context.Context, user *build.User, id int64) (*build.Job, error) {
	if err := requireUser(user); err != nil {
		return nil, err
	}
	j, err := s.Job(ctx, user, id)
	if err != nil {
		return nil, err
	}
	if j.OwnerID != user.ID {
		return nil, build.Errorf(build.EFORBIDDEN, "job %d belongs to ~%s; only its owner may change it", id, j.Owner)
	}
	return j, nil
}

// Start queues a pending job (one submitted with execute: false). Starting
// a job in any other status is build.ECONFLICT.
func (s *Service) Start(ctx context.Context, user *build.User, jobID int64) (*build.Job, error) {
	j, err := s.ownJob(ctx, user, jobID)
	if err != nil {
		return nil, err
	}
	return s.start(ctx, j)
}

// start moves an owned job from pending to queued and enqueues it.
func (s *Service) start(ctx context.Context, j *build.Job) (*build.Job, error) {
	return s.life().Start(ctx, j)
}

// Cancel ends a pending, queued or running job as cancelled. A queued job
// is taken off the queue; for a running one OnCancel tells the runner to
// kill its VM. The database records the cancellation in every case.
// Cancelling a job that has already ended is build.ECONFLICT.
func (s *Service) Cancel(ctx context.Context, user *build.User, jobID int64) (*build.Job, error) {
	j, err := s.ownJob(ctx, user, jobID)
	if err != nil {
		return nil, err
	}
	return s.cancel(ctx, j)
}

func (s *Service) cancel(ctx context.Context, j *build.Job) (*build.Job, error) {
	return s.life().Cancel(ctx, j)
}

// notFound turns a store's ENOTFOUND into a message naming the thing.
func notFound(err error, what string, id int64) error {
	if build.ErrorCode(err) == build.ENOTFOUND {
		return build.Errorf(build.ENOTFOUND, "no %s with ID %d", what, id)
	}
	return fmt.Errorf("read %s %d: %w", what, id, err)
}

func userID(u *build.User) int64 {
	if u == nil {
		return 0
	}
	return u.ID
}

// JobSecrets returns the secrets the job's manifest names, without their
// values, for the job's owner. It returns nil when secrets are disabled
// for the job, when user is not its owner, or for names that no longer
// resolve (the secret was deleted after submission).
func (s *Service) JobSecrets(ctx context.Context, user *build.User, j *build.Job) ([]*build.Secret, error) {
	if !j.Secrets || user == nil || user.ID != j.OwnerID {
		return nil, nil
	}
	m, err := manifest.Parse([]byte(j.Manifest))
	if err != nil {
		return nil, nil // stored before a rule tightened; it has no usable secrets
	}
	out := []*build.Secret{}
	for _, ref := range m.Secrets {
		sec, err := s.lookupSecret(ctx, user, ref)
		if build.ErrorCode(err) == build.ENOTFOUND || (err == nil && sec.OwnerID != user.ID) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("look up secret %q: %w", ref, err)
		}
		sec.Data = nil
		out = append(out, sec)
	}
	return out, nil
}

// SetVisibility changes the visibility of user's job. Only the owner may:
// EFORBIDDEN for others who can see the job, ENOTFOUND for those who
// cannot, EINVALID for an unknown visibility.
func (s *Service) SetVisibility(ctx context.Context, user *build.User, jobID int64, v build.Visibility) (*build.Job, error) {
	j, err := s.ownJob(ctx, user, jobID)
	if err != nil {
		return nil, err
	}
	if !v.Valid() {
		return nil, build.Errorf(build.EINVALID, "unknown visibility %q; use PUBLIC, UNLISTED or PRIVATE", v)
	}
	if err := s.Store.SetJobVisibility(ctx, j.ID, v); err != nil {
		return nil, fmt.Errorf("set visibility of job %d: %w", j.ID, err)
	}
	j.Visibility = v
	return j, nil
}
