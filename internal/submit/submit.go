// Package submit is the submission service: it turns a manifest a user
// sends into a stored job, queues it, and starts, cancels and groups jobs on
// the owner's behalf. Every API (GraphQL, REST, the web UI, the SSH submit
// command) goes through it, so the rules live in one place.
//
// Access rules: only the owner of a job, group or secret may change it.
// Methods take the acting user (nil means anonymous, which is refused with
// build.EUNAUTHORIZED) and return domain errors (*build.Error) for every
// mistake a user can make.
package submit

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"

	"builds/internal/build"
	"builds/internal/lifecycle"
	"builds/internal/manifest"
	"builds/internal/queue"
	"builds/internal/store"
)

// DefaultArch is the architecture a job runs on when neither its manifest
// nor the image names one.
const DefaultArch = "amd64"

// MaxNoteSize is the longest note accepted, in bytes.
const MaxNoteSize = 4096

// MaxTags is the most tags one job may carry.
const MaxTags = 16

// Service submits and controls jobs. Its fields are set once before use;
// a Service is then safe for concurrent use.
type Service struct {
	Store store.Store
	// Life applies every status change (enqueue, start, cancel) and
	// publishes it. When nil, one is made from Store, Queue and OnCancel
	// that publishes to no one.
	Life *lifecycle.Lifecycle
	// Queue and OnCancel are used only when Life is nil.
	Queue queue.Queue
	// Images lists the images the runners have, e.g. "debian/bookworm",
	// aliases included. Nil disables the check (any image is accepted).
	Images func() []string
	// ImageArch returns the default arch of an image; nil or "" means
	// DefaultArch.
	ImageArch func(image string) string
	// Arches lists the architectures some runner takes jobs for; a job
	// for another is refused at submission. Nil disables the check (when
	// runners come and go, a job waits for one instead).
	Arches func() []string
	// OnCancel is told about every queued or running job that was
	// cancelled, so the runner holding it can kill its VM. It must not
	// block for long; it may be nil.
	OnCancel func(jobID int64)
	// OnSubmit is told about every job stored by Submit (after it was
	// queued, when it was), e.g. to deliver JOB_CREATED webhooks. It must
	// not block for long; it may be nil.
	OnSubmit func(j *build.Job)
	// Logger receives failures that do not reach the caller; nil means
	// slog.Default().
	Logger *slog.Logger

	lifeOnce sync.Once
}

// SubmitInput is what a user submits. Callers apply the API defaults
// (builds.sr.ht enables Secrets and Execute when unspecified).
type SubmitInput struct {
	Manifest   string
	Tags       []string
	Note       string
	Secrets    bool
	Execute    bool
	Visibility build.Visibility // "" means build.Unlisted
}

// Submit validates in, stores the job with its tasks and, when in.Execute
// is set, queues it. Validation failures are build.EINVALID and name every
// problem; nothing is stored then.
func (s *Service) Submit(ctx context.Context, user *build.User, in SubmitInput) (*build.Job, error) {
	if err := requireUser(user); err != nil {
		return nil, err
	}
	m, err := s.parse(in)
	if err != nil {
		return nil, err
	}
	if in.Secrets {
		if err := s.checkSecrets(ctx, user, m.Secrets); err != nil {
			return nil, err
		}
	}
	j := s.newJob(user, in, m)
	if in.Execute {
		j.Status = build.JobQueued
	}
	if err := s.life().Create(ctx, j); err != nil {
		return nil, err
	}
	if in.Execute {
		if err := s.life().Enqueue(ctx, j); err != nil {
			return nil, err
		}
	}
	if s.OnSubmit != nil {
		s.OnSubmit(j)
	}
	return j, nil
}

// parse checks everything about in that needs no database.
func (s *Service) parse(in SubmitInput) (*manifest.Manifest, error) {
	if len(in.Manifest) > manifest.MaxSize {
		return nil, build.Errorf(build.EINVALID,
			"the manifest is %d bytes; the limit is %d bytes (64 KiB), which builds.sr.ht refuses too; move long scripts into a file in your repository", len(in.Manifest), manifest.MaxSize)
	}
	if err := checkMeta(in.Tags, in.Note, in.Visibility); err != nil {
		return nil, err
	}
	m, err := manifest.Parse([]byte(in.Manifest))
	if err != nil {
		return nil, err
	}
	if m.Release == "" && s.defaultRelease(m.Distro) != m.Distro {
		// The manifest is shared and read-only: resolve on a copy.
		resolved := *m
		resolved.Image = s.defaultRelease(m.Distro)
		resolved.Release = strings.TrimPrefix(resolved.Image, m.Distro+"/")
		m = &resolved
	}
	if err := s.checkImage(m.Image); err != nil {
		return nil, err
	}
	if err := s.checkArch(s.arch(m)); err != nil {
		return nil, err
	}
	return m, nil
}

// checkArch refuses a job for an architecture no runner offers, which
// would otherwise wait in the queue forever.
func (s *Service) checkArch(arch string) error {
	if s.Arches == nil {
		return nil
	}
	known := s.Arches()
	if len(known) == 0 || slices.Contains(known, arch) {
		return nil // a runner that takes any arch lists none
	}
	sorted := slices.Clone(known)
	slices.Sort(sorted)
	return build.Errorf(build.EINVALID, "no runner here runs arch %q; available arches: %s (set arch: in the manifest, or pick an image of one of them)",
		arch, strings.Join(sorted, ", "))
}

// defaultRelease resolves an image that names only a distro ("debian") to
// one the runners have, as builds.sr.ht does for distros with a default:
// distro/latest, else distro/stable, else the distro's only release. With
// none of these (or when the service does not check images) it returns the
// distro alone, which checkImage refuses with the list of images.
func (s *Service) defaultRelease(distro string) string {
	if s.Images == nil {
		return distro
	}
	known := s.Images()
	for _, r := range []string{"latest", "stable"} {
		if slices.Contains(known, distro+"/"+r) {
			return distro + "/" + r
		}
	}
	var only []string
	for _, im := range known {
		if strings.HasPrefix(im, distro+"/") {
			only = append(only, im)
		}
	}
	if len(only) == 1 {
		return only[0]
	}
	return distro
}

var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// checkMeta validates the fields that come with a manifest.
func checkMeta(tags []string, note string, vis build.Visibility) error {
	if len(tags) > MaxTags {
		return build.Errorf(build.EINVALID, "%d tags given; at most %d are allowed", len(tags), MaxTags)
	}
	for _, t := range tags {
		if len(t) > 128 || !tagPattern.MatchString(t) {
			return build.Errorf(build.EINVALID,
				"invalid tag %q: tags use only letters, digits, '_', '.' and '-', at most 128 characters", t)
		}
	}
	if len(note) > MaxNoteSize {
		return build.Errorf(build.EINVALID, "the note is %d bytes; the limit is %d", len(note), MaxNoteSize)
	}
	if vis != "" && !vis.Valid() {
		return build.Errorf(build.EINVALID, "unknown visibility %q; use PUBLIC, UNLISTED or PRIVATE", vis)
	}
	return nil
}

// checkImage refuses images the runners do not have.
func (s *Service) checkImage(image string) error {
	if s.Images == nil {
		return nil
	}
	known := s.Images()
	if slices.Contains(known, image) {
		return nil
	}
	sorted := slices.Clone(known)
	slices.Sort(sorted)
	if len(sorted) == 0 {
		return build.Errorf(build.EINVALID, "unknown image %q: this service has no images installed yet", image)
	}
	return build.Errorf(build.EINVALID, "unknown image %q; available images: %s", image, strings.Join(sorted, ", "))
}

// checkSecrets makes sure every secret the manifest names exists and
// belongs to the submitter. Names and UUIDs are both accepted.
func (s *Service) checkSecrets(ctx context.Context, user *build.User, refs []string) error {
	var missing []string
	for _, ref := range refs {
		sec, err := s.lookupSecret(ctx, user, ref)
		if err != nil && build.ErrorCode(err) != build.ENOTFOUND {
			return fmt.Errorf("look up secret %q: %w", ref, err)
		}
		if sec == nil || sec.OwnerID != user.ID {
			missing = append(missing, ref)
		}
	}
	if len(missing) > 0 {
		return build.Errorf(build.EINVALID,
			"secrets: %s: no such secret among yours; upload it first, or submit with secrets disabled",
			strings.Join(quoteAll(missing), ", "))
	}
	return nil
}

// lookupSecret finds a secret of user by UUID or by name.
func (s *Service) lookupSecret(ctx context.Context, user *build.User, ref string) (*build.Secret, error) {
	return store.SecretByRef(ctx, s.Store, user.ID, ref)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// newJob builds the job to store from a valid submission.
func (s *Service) newJob(user *build.User, in SubmitInput, m *manifest.Manifest) *build.Job {
	vis := in.Visibility
	if vis == "" {
		vis = build.Unlisted
	}
	j := &build.Job{
		OwnerID:    user.ID,
		Owner:      user.Name,
		Manifest:   in.Manifest,
		Note:       in.Note,
		Tags:       slices.Clone(in.Tags),
		Visibility: vis,
		Status:     build.JobPending,
		Image:      m.Image,
		Arch:       s.arch(m),
		Secrets:    in.Secrets,
	}
	for _, t := range m.Tasks {
		j.Tasks = append(j.Tasks, build.Task{Name: t.Name, Status: build.TaskPending})
	}
	return j
}

func (s *Service) arch(m *manifest.Manifest) string {
	if m.Arch != "" {
		return m.Arch
	}
	if s.ImageArch != nil {
		if a := s.ImageArch(m.Image); a != "" {
			return a
		}
	}
	return DefaultArch
}

// life returns the Lifecycle, making one on first use when none is set.
func (s *Service) life() *lifecycle.Lifecycle {
	s.lifeOnce.Do(func() {
		if s.Life == nil {
			s.Life = lifecycle.New(lifecycle.Options{Store: s.Store, Queue: s.Queue, OnCancel: s.OnCancel, Logger: s.Logger})
		}
	})
	return s.Life
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// requireUser refuses anonymous callers.
func requireUser(user *build.User) error {
	if user == nil {
		return build.Errorf(build.EUNAUTHORIZED, "authentication required: send 'Authorization: Bearer <token>'")
	}
	return nil
}
