package submit

import (
	"context"
	"fmt"
	"net/url"

	"builds/internal/build"
)

// MaxGroupJobs is the most jobs one group may hold.
const MaxGroupJobs = 100

// GroupInput describes a group to create from pending jobs.
type GroupInput struct {
	JobIDs   []int64
	Triggers []build.Trigger
	Note     string
	// Execute starts the group's jobs at once (the API default is true).
	Execute bool
}

// CreateGroup groups pending jobs of user, with triggers that fire once
// every job has ended, and starts them when in.Execute is set. Every job
// must be pending, owned by user and in no other group.
func (s *Service) CreateGroup(ctx context.Context, user *build.User, in GroupInput) (*build.Group, error) {
	if err := requireUser(user); err != nil {
		return nil, err
	}
	if err := checkGroupInput(in); err != nil {
		return nil, err
	}
	jobs := make([]*build.Job, 0, len(in.JobIDs))
	for _, id := range in.JobIDs {
		j, err := s.ownJob(ctx, user, id)
		if err != nil {
			return nil, err
		}
		if err := groupable(j); err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	g := &build.Group{OwnerID: user.ID, Note: in.Note, JobIDs: in.JobIDs, Triggers: in.Triggers}
	if err := s.Store.CreateGroup(ctx, g); err != nil {
		return nil, fmt.Errorf("store group: %w", err)
	}
	if in.Execute {
		for _, j := range jobs {
			if _, err := s.start(ctx, j); err != nil {
				return nil, err
			}
		}
	}
	return g, nil
}

func groupable(j *build.Job) error {
	if j.Status != build.JobPending {
		return build.Errorf(build.ECONFLICT,
			"job %d is %s; only pending jobs (submitted with execute: false) can be grouped", j.ID, j.Status)
	}
	if j.GroupID != 0 {
		return build.Errorf(build.ECONFLICT, "job %d is already in group %d", j.ID, j.GroupID)
	}
	return nil
}

func checkGroupInput(in GroupInput) error {
	if len(in.JobIDs) == 0 {
		return build.Errorf(build.EINVALID, "a group needs at least one job")
	}
	if len(in.JobIDs) > MaxGroupJobs {
		return build.Errorf(build.EINVALID, "%d jobs given; a group holds at most %d", len(in.JobIDs), MaxGroupJobs)
	}
	seen := make(map[int64]bool, len(in.JobIDs))
	for _, id := range in.JobIDs {
		if seen[id] {
			return build.Errorf(build.EINVALID, "job %d is listed twice", id)
		}
		seen[id] = true
	}
	if len(in.Note) > MaxNoteSize {
		return build.Errorf(build.EINVALID, "the note is %d bytes; the limit is %d", len(in.Note), MaxNoteSize)
	}
	for i, t := range in.Triggers {
		if err := CheckTrigger(t); err != nil {
			return build.Errorf(build.EINVALID, "triggers[%d]: %s", i, build.ErrorMessage(err))
		}
	}
	return nil
}

// CheckTrigger validates one group trigger.
func CheckTrigger(t build.Trigger) error {
	switch t.Condition {
	case build.OnSuccess, build.OnFailure, build.OnAlways:
	default:
		return build.Errorf(build.EINVALID, "unknown condition %q; use success, failure or always", t.Condition)
	}
	switch t.Action {
	case build.TriggerEmail:
		if t.To == "" {
			return build.Errorf(build.EINVALID, "an email trigger needs a 'to' address")
		}
	case build.TriggerWebhook:
		u, err := url.Parse(t.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return build.Errorf(build.EINVALID, "a webhook trigger needs an http(s) URL, got %q", t.URL)
		}
	default:
		return build.Errorf(build.EINVALID, "unknown trigger type %q; use email or webhook", t.Action)
	}
	return nil
}

// Group returns the group if user may see it: its owner always, others
// when they may see at least one of its jobs, and then without its note
// and triggers (see GroupView).
func (s *Service) Group(ctx context.Context, user *build.User, id int64) (*build.Group, error) {
	g, err := s.Store.Group(ctx, id)
	if err != nil {
		return nil, notFound(err, "job group", id)
	}
	if userID(user) != 0 && g.OwnerID == userID(user) {
		return g, nil
	}
	for _, jid := range g.JobIDs {
		if _, err := s.Job(ctx, user, jid); err == nil {
			return GroupView(g, user), nil
		}
	}
	return nil, build.Errorf(build.ENOTFOUND, "no job group with ID %d", id)
}

// ownGroup returns the group if user owns it.
func (s *Service) ownGroup(ctx context.Context, user *build.User, id int64) (*build.Group, error) {
	if err := requireUser(user); err != nil {
		return nil, err
	}
	g, err := s.Group(ctx, user, id)
	if err != nil {
		return nil, err
	}
	if g.OwnerID != user.ID {
		return nil, build.Errorf(build.EFORBIDDEN, "job group %d is not yours; only its owner may change it", id)
	}
	return g, nil
}

// StartGroup queues every pending job of the group. A group with no
// pending job is build.ECONFLICT.
func (s *Service) StartGroup(ctx context.Context, user *build.User, groupID int64) (*build.Group, error) {
	g, err := s.ownGroup(ctx, user, groupID)
	if err != nil {
		return nil, err
	}
	started := 0
	for _, id := range g.JobIDs {
		j, err := s.Store.Job(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("read job %d: %w", id, err)
		}
		if j.Status != build.JobPending {
			continue
		}
		if _, err := s.start(ctx, j); err != nil {
			return nil, err
		}
		started++
	}
	if started == 0 {
		return nil, build.Errorf(build.ECONFLICT, "job group %d has no pending jobs; it was started already", groupID)
	}
	return g, nil
}

// CancelGroup cancels every job of the group that has not ended yet.
// Cancelling a group whose jobs have all ended is build.ECONFLICT.
func (s *Service) CancelGroup(ctx context.Context, user *build.User, groupID int64) (*build.Group, error) {
	g, err := s.ownGroup(ctx, user, groupID)
	if err != nil {
		return nil, err
	}
	cancelled := 0
	for _, id := range g.JobIDs {
		j, err := s.Store.Job(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("read job %d: %w", id, err)
		}
		if j.Status.Terminal() {
			continue
		}
		_, err = s.cancel(ctx, j)
		if err != nil && build.ErrorCode(err) != build.ECONFLICT {
			return nil, err
		}
		cancelled++
	}
	if cancelled == 0 {
		return nil, build.Errorf(build.ECONFLICT, "every job of group %d has already ended", groupID)
	}
	return g, nil
}

// GroupView returns g as user may see it. Only the owner sees the note and
// the triggers: they hold email addresses and webhook URLs (often with a
// token in them), which seeing one of the group's jobs does not entitle
// anyone to. Others get a copy without them.
func GroupView(g *build.Group, user *build.User) *build.Group {
	if userID(user) != 0 && g.OwnerID == userID(user) {
		return g
	}
	cp := *g
	cp.Note, cp.Triggers = "", nil
	return &cp
}
