package submit_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"builds/internal/build"
	"builds/internal/queue"
	"builds/internal/queue/local"
	"builds/internal/secretbox"
	"builds/internal/store/sqlite"
	"builds/internal/submit"
)

const manifest = "image: debian/bookworm\ntasks:\n  - a: echo a\n  - b: echo b\n"

// newService returns a service over a fresh SQLite store and an
// in-process queue, and a user to act as.
func newService(t *testing.T) (*submit.Service, *local.Queue, *build.User) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "b.db"), secretbox.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	u := &build.User{Name: "alice"}
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	q := local.New(local.Options{})
	return &submit.Service{Store: db, Queue: q}, q, u
}

func TestSubmitDefaults(t *testing.T) {
	s, q, u := newService(t)
	s.ImageArch = func(image string) string {
		if image == "archlinux" {
			return "x86_64"
		}
		return ""
	}
	var created []int64
	s.OnSubmit = func(j *build.Job) { created = append(created, j.ID) }
	j, err := s.Submit(t.Context(), u, submit.SubmitInput{Manifest: manifest, Execute: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 1 || created[0] != j.ID {
		t.Errorf("OnSubmit told about %v, want [%d]", created, j.ID)
	}
	if j.Status != build.JobQueued || j.Visibility != build.Unlisted || j.Arch != submit.DefaultArch || len(j.Tasks) != 2 || j.Owner != "alice" {
		t.Errorf("job = %+v", j)
	}
	arch, err := s.Submit(t.Context(), u, submit.SubmitInput{Manifest: "image: archlinux\ntasks:\n  - a: x\n"})
	if err != nil || arch.Arch != "x86_64" || arch.Status != build.JobPending || q.Len() != 1 {
		t.Errorf("archlinux job = %+v, %v; %d queued", arch, err, q.Len())
	}
	explicit, err := s.Submit(t.Context(), u, submit.SubmitInput{Manifest: "image: archlinux\narch: arm64\ntasks:\n  - a: x\n"})
	if err != nil || explicit.Arch != "arm64" {
		t.Errorf("explicit arch = %+v, %v", explicit, err)
	}
}

func TestAnonymousIsRefused(t *testing.T) {
	s, _, _ := newService(t)
	_, err := s.Submit(t.Context(), nil, submit.SubmitInput{Manifest: manifest})
	if build.ErrorCode(err) != build.EUNAUTHORIZED {
		t.Errorf("anonymous submit: %v", err)
	}
	if _, err := s.CreateSecret(t.Context(), nil, submit.SecretInput{}); build.ErrorCode(err) != build.EUNAUTHORIZED {
		t.Errorf("anonymous secret: %v", err)
	}
}

// refusingQueue is a queue that is down.
type refusingQueue struct{ queue.Queue }

func (refusingQueue) Enqueue(ctx context.Context, it queue.Item) error {
	return errors.New("queue unreachable")
}

// TestQueueFailureFailsJob: a job the queue refused must not stay queued
// forever, and the caller hears about it.
func TestQueueFailureFailsJob(t *testing.T) {
	s, q, u := newService(t)
	s.Queue = refusingQueue{q}
	_, err := s.Submit(t.Context(), u, submit.SubmitInput{Manifest: manifest, Execute: true})
	if err == nil || build.ErrorCode(err) != build.EINTERNAL {
		t.Fatalf("submit with the queue down: %v", err)
	}
	ids, err := s.Store.JobsByStatus(t.Context(), build.JobQueued, 0)
	if err != nil || len(ids) != 0 {
		t.Errorf("queued jobs left behind: %v, %v", ids, err)
	}
	failed, _ := s.Store.JobsByStatus(t.Context(), build.JobFailed, 0)
	if len(failed) != 1 {
		t.Errorf("failed jobs = %v, want the refused one", failed)
	}
}

func TestImagesCheck(t *testing.T) {
	s, _, u := newService(t)
	s.Images = func() []string { return nil }
	_, err := s.Submit(t.Context(), u, submit.SubmitInput{Manifest: manifest})
	if build.ErrorCode(err) != build.EINVALID || !strings.Contains(err.Error(), "no images installed") {
		t.Errorf("no images: %v", err)
	}
	s.Images = func() []string { return []string{"debian/trixie", "alpine/edge"} }
	_, err = s.Submit(t.Context(), u, submit.SubmitInput{Manifest: manifest})
	if build.ErrorMessage(err) != `unknown image "debian/bookworm"; available images: alpine/edge, debian/trixie` {
		t.Errorf("unknown image: %v", err)
	}
}

func TestArchCheck(t *testing.T) {
	s, _, u := newService(t)
	s.Arches = func() []string { return []string{"amd64", "aarch64"} }
	_, err := s.Submit(t.Context(), u, submit.SubmitInput{Manifest: "arch: riscv64\n" + manifest})
	want := `no runner here runs arch "riscv64"; available arches: aarch64, amd64 (set arch: in the manifest, or pick an image of one of them)`
	if build.ErrorCode(err) != build.EINVALID || build.ErrorMessage(err) != want {
		t.Errorf("unknown arch: %v", err)
	}
	if _, err := s.Submit(t.Context(), u, submit.SubmitInput{Manifest: "arch: aarch64\n" + manifest}); err != nil {
		t.Errorf("offered arch: %v", err)
	}
	if _, err := s.Submit(t.Context(), u, submit.SubmitInput{Manifest: manifest}); err != nil {
		t.Errorf("default arch: %v", err)
	}
}

func TestCheckTrigger(t *testing.T) {
	cases := []struct {
		t    build.Trigger
		want string // "" for valid
	}{
		{build.Trigger{Action: build.TriggerEmail, Condition: build.OnAlways, To: "a@b.c"}, ""},
		{build.Trigger{Action: build.TriggerWebhook, Condition: build.OnFailure, URL: "https://x.example/h"}, ""},
		{build.Trigger{Action: build.TriggerEmail, Condition: build.OnAlways}, "needs a 'to' address"},
		{build.Trigger{Action: build.TriggerWebhook, Condition: build.OnAlways, URL: "file:///etc/passwd"}, "http(s) URL"},
		{build.Trigger{Action: build.TriggerWebhook, Condition: "sometimes", URL: "https://x.example"}, "unknown condition"},
		{build.Trigger{Action: "sms", Condition: build.OnAlways}, "unknown trigger type"},
	}
	for _, c := range cases {
		err := submit.CheckTrigger(c.t)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("CheckTrigger(%+v) = %v, want %q", c.t, err, c.want)
		}
	}
}

func TestCancelTellsRunnerOnlyWhenQueuedOrRunning(t *testing.T) {
	s, q, u := newService(t)
	var told []int64
	s.OnCancel = func(id int64) { told = append(told, id) }
	running, err := s.Submit(t.Context(), u, submit.SubmitInput{Manifest: manifest, Execute: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if _, err := q.Take(ctx, "r1", []string{"amd64"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.SetJobStatus(t.Context(), running.ID, build.JobRunning, "r1"); err != nil {
		t.Fatal(err)
	}
	pending, err := s.Submit(t.Context(), u, submit.SubmitInput{Manifest: manifest})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{running.ID, pending.ID} {
		j, err := s.Cancel(t.Context(), u, id)
		if err != nil || j.Status != build.JobCancelled {
			t.Errorf("cancel %d: %+v, %v", id, j, err)
		}
	}
	if len(told) != 1 || told[0] != running.ID {
		t.Errorf("runner told about %v, want only %d", told, running.ID)
	}
}

// TestDistroResolvesToDefaultRelease checks that an image naming only a
// distro runs on that distro's default release.
func TestDistroResolvesToDefaultRelease(t *testing.T) {
	s, _, u := newService(t)
	for _, tc := range []struct {
		known []string
		want  string
	}{
		{[]string{"debian/bookworm", "debian/stable", "debian/trixie"}, "debian/stable"},
		{[]string{"debian/stable", "debian/latest"}, "debian/latest"},
		{[]string{"debian/bookworm", "alpine/edge"}, "debian/bookworm"},
	} {
		s.Images = func() []string { return tc.known }
		j, err := s.Submit(t.Context(), u, submit.SubmitInput{Manifest: "image: debian\ntasks: [{a: b}]\n"})
		if err != nil || j.Image != tc.want {
			t.Errorf("images %q: job %+v, %v; want image %s", tc.known, j, err, tc.want)
		}
	}
	s.Images = func() []string { return []string{"debian/bookworm", "debian/trixie"} }
	_, err := s.Submit(t.Context(), u, submit.SubmitInput{Manifest: "image: debian\ntasks: [{a: b}]\n"})
	if build.ErrorMessage(err) != `unknown image "debian"; available images: debian/bookworm, debian/trixie` {
		t.Errorf("no default release: %v", err)
	}
}

// TestSecretKeepsItsUUID checks that a secret can be uploaded with the
// UUID it had on builds.sr.ht, and that a UUID another user holds is
// refused without saying whose it is.
func TestSecretKeepsItsUUID(t *testing.T) {
	s, _, alice := newService(t)
	bob := &build.User{Name: "bob"}
	if err := s.Store.CreateUser(t.Context(), bob); err != nil {
		t.Fatal(err)
	}
	const id = "2A6ED1C4-7E4C-4B47-9D3F-8F9A2F4F1C2E"
	in := submit.SecretInput{UUID: id, Kind: build.SecretFile, Path: "~/.netrc", Mode: 0o600, Data: []byte("x")}
	sec, err := s.CreateSecret(t.Context(), alice, in)
	if err != nil || sec.UUID != strings.ToLower(id) {
		t.Fatalf("CreateSecret with a UUID = %+v, %v", sec, err)
	}
	m := "image: debian/bookworm\ntasks: [{a: b}]\nsecrets: [" + strings.ToLower(id) + "]\n"
	if _, err := s.Submit(t.Context(), alice, submit.SubmitInput{Manifest: m, Secrets: true}); err != nil {
		t.Errorf("a manifest listing the kept UUID: %v", err)
	}
	_, err = s.CreateSecret(t.Context(), alice, in)
	if build.ErrorCode(err) != build.ECONFLICT || !strings.Contains(err.Error(), "you already have the secret") {
		t.Errorf("same UUID again: %v", err)
	}
	_, err = s.CreateSecret(t.Context(), bob, in)
	if build.ErrorCode(err) != build.ECONFLICT || !strings.Contains(err.Error(), "taken by another secret") ||
		strings.Contains(err.Error(), "alice") {
		t.Errorf("another user's UUID: %v", err)
	}
	in.UUID = "not-a-uuid"
	if _, err = s.CreateSecret(t.Context(), bob, in); build.ErrorCode(err) != build.EINVALID {
		t.Errorf("bad UUID: %v", err)
	}
}
