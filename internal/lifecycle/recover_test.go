package lifecycle_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"builds/internal/build"
	"builds/internal/lifecycle"
	"builds/internal/logs"
	"builds/internal/queue/local"
	"builds/internal/store/sqlite"
)

// TestRecoverLocalEndsTasks is a master killed while a job's task ran: at
// the next start the job fails, its running task fails and its pending one
// is skipped, so that no task shows running forever.
func TestRecoverLocalEndsTasks(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "builds.db"), storeKey)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u := &build.User{Name: "alice", Email: "alice@example.org"}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	j := &build.Job{OwnerID: u.ID, Manifest: twoTasks, Visibility: build.Public, Status: build.JobQueued,
		Image: "debian/bookworm", Arch: "amd64", Tasks: []build.Task{{Name: "build"}, {Name: "test"}}}
	if err := st.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	// The state a killed master leaves behind.
	if _, err := st.SetJobStatus(ctx, j.ID, build.JobRunning, "local"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetTaskStatus(ctx, j.ID, "build", build.TaskRunning); err != nil {
		t.Fatal(err)
	}
	d, err := logs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	life := lifecycle.New(lifecycle.Options{Store: st, Queue: local.New(local.Options{}), Logs: d})
	sub := life.Bus().Subscribe(0, nil)
	defer sub.Close()
	if err := life.RecoverLocal(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := st.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != build.JobFailed || got.Tasks[0].Status != build.TaskFailed || got.Tasks[1].Status != build.TaskSkipped {
		t.Fatalf("after recovery: job %s, tasks %s %s; want failed, failed, skipped", got.Status, got.Tasks[0].Status, got.Tasks[1].Status)
	}
	path, _ := d.Path(j.ID, "")
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "service stopped while this job ran") {
		t.Errorf("the job's log does not say why it failed: %q", b)
	}
	var kinds []string
	evs, _ := sub.Next()
	for i := range evs {
		kinds = append(kinds, describe(&evs[i]))
	}
	want := "task_changed build failed,task_changed test skipped,job_ended failed"
	if strings.Join(kinds, ",") != want {
		t.Errorf("events %v, want %s", kinds, want)
	}
}
