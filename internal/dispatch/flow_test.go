package dispatch_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/agent"
	"builds/internal/build"
	"builds/internal/dispatch"
	"builds/internal/logs"
	"builds/internal/wire"
)

func TestRunnerReportsReachTheStore(t *testing.T) {
	p := newPlane(t)
	p.addSecret(t)
	ctx := t.Context()
	j := p.submit(t, build.Private)
	a := p.agent(t, "r1")
	l := takeOne(t, a, "r1")
	if l.Item().JobID != j.ID || l.Item().Key == "" {
		t.Fatalf("took %+v", l.Item())
	}
	w, err := a.Load(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if w.Owner != "alice" || w.Manifest != manifestYAML || len(w.Secrets) != 1 || string(w.Secrets[0].Data) != "s3cr3t" {
		t.Fatalf("work = %+v", w)
	}
	if got := a.JobURL(j.ID); got != "http://master.example/~alice/job/"+itoa(j.ID) {
		t.Fatalf("job URL %q", got)
	}
	must(t, a.JobStatus(ctx, j.ID, build.JobRunning, "r1"))
	got := p.waitJob(t, j.ID, build.JobRunning, 5*time.Second)
	if got.Runner != "r1" {
		t.Fatalf("runner recorded %q", got.Runner)
	}
	for _, task := range []string{"build", "test"} {
		must(t, a.TaskStatus(ctx, j.ID, task, build.TaskRunning))
		must(t, a.TaskStatus(ctx, j.ID, task, build.TaskSuccess))
	}
	must(t, a.Artifact(ctx, &build.Artifact{JobID: j.ID, Path: "out/a.tar", Name: "a.tar", Size: 3, URL: "http://r1/artifacts/1/a.tar"}))
	must(t, a.JobStatus(ctx, j.ID, build.JobSuccess, "r1"))
	must(t, l.Done(ctx))
	got = p.waitJob(t, j.ID, build.JobSuccess, 5*time.Second)
	for _, task := range got.Tasks {
		if task.Status != build.TaskSuccess {
			t.Errorf("task %s is %s", task.Name, task.Status)
		}
	}
	arts, err := p.st.ListArtifacts(ctx, j.ID)
	if err != nil || len(arts) != 1 || arts[0].Name != "a.tar" {
		t.Fatalf("artifacts = %+v, %v", arts, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended[j.ID] != build.JobSuccess {
		t.Fatalf("OnEnd saw %q", p.ended[j.ID])
	}
}

func TestForgedStaleAndDuplicateEventsAreDropped(t *testing.T) {
	p := newPlane(t)
	p.addSecret(t)
	ctx := t.Context()
	j := p.submit(t, build.Public)
	a := p.agent(t, "honest")
	takeOne(t, a, "honest")
	must(t, a.JobStatus(ctx, j.ID, build.JobRunning, "honest"))
	p.waitJob(t, j.ID, build.JobRunning, 5*time.Second)

	// Forged: right runner name, wrong key.
	xadd(t, p.rdb, `{"job":`+itoa(j.ID)+`,"runner":"honest","seq":99,"kind":"job_status","status":"failed"}`, "00")
	// Another runner, with a MAC under the right key (as a runner whose
	// lease was handed elsewhere would send): refused for not holding it.
	ev := `{"job":` + itoa(j.ID) + `,"runner":"intruder","seq":1,"kind":"job_status","status":"failed"}`
	xadd(t, p.rdb, ev, macOf(t, p, j.ID, ev))
	// Duplicate of an applied event (seq 1 = running) and a replay of a
	// status change with a stale sequence number.
	ev = `{"job":` + itoa(j.ID) + `,"runner":"honest","seq":1,"kind":"job_status","status":"failed"}`
	xadd(t, p.rdb, ev, macOf(t, p, j.ID, ev))
	// A genuine event after them all is applied, proving the others were
	// read and dropped, not merely still queued.
	must(t, a.TaskStatus(ctx, j.ID, "build", build.TaskRunning))
	waitTask(t, p, j.ID, "build", build.TaskRunning)
	if got := p.waitJob(t, j.ID, build.JobRunning, time.Second); got.Status != build.JobRunning {
		t.Fatalf("job is %s", got.Status)
	}
}

func TestTerminalStatusNeverChanges(t *testing.T) {
	p := newPlane(t)
	p.addSecret(t)
	ctx := t.Context()
	j := p.submit(t, build.Public)
	a := p.agent(t, "r")
	takeOne(t, a, "r")
	must(t, a.JobStatus(ctx, j.ID, build.JobRunning, "r"))
	must(t, a.JobStatus(ctx, j.ID, build.JobFailed, "r"))
	must(t, a.JobStatus(ctx, j.ID, build.JobSuccess, "r"))
	must(t, a.TaskStatus(ctx, j.ID, "build", build.TaskRunning))
	waitTask(t, p, j.ID, "build", build.TaskRunning)
	if got := p.waitJob(t, j.ID, build.JobFailed, time.Second); got.Status != build.JobFailed {
		t.Fatal(got.Status)
	}
}

func TestCancelReachesTheRunner(t *testing.T) {
	p := newPlane(t)
	p.addSecret(t)
	ctx := t.Context()
	j := p.submit(t, build.Public)
	a := p.agent(t, "r")
	takeOne(t, a, "r")
	must(t, a.JobStatus(ctx, j.ID, build.JobRunning, "r"))
	p.waitJob(t, j.ID, build.JobRunning, 5*time.Second)
	cancelled := make(chan int64, 4)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go a.Run(runCtx, agent.Control{Cancel: func(id int64) bool { cancelled <- id; return true }})
	time.Sleep(200 * time.Millisecond) // let it subscribe
	start := time.Now()
	if _, err := p.svc.Cancel(ctx, p.user, j.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-cancelled:
		if id != j.ID {
			t.Fatalf("cancelled %d", id)
		}
		t.Logf("cancel reached the runner in %v", time.Since(start))
	case <-time.After(3 * time.Second):
		t.Fatal("the runner was not told to cancel")
	}
}

func TestCancelledBeforeStartIsRefused(t *testing.T) {
	p := newPlane(t)
	p.addSecret(t)
	ctx := t.Context()
	j := p.submit(t, build.Public)
	a := p.agent(t, "r")
	takeOne(t, a, "r")
	if _, err := p.svc.Cancel(ctx, p.user, j.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.JobStatus(ctx, j.ID, build.JobRunning, "r"); build.ErrorCode(err) != build.ECONFLICT {
		t.Fatalf("starting a cancelled job: %v, want a conflict", err)
	}
}

func TestDeadRunnerEndsStartedJobAndFreesUnstartedOne(t *testing.T) {
	p := newPlane(t)
	p.addSecret(t)
	ctx := t.Context()
	started := p.submit(t, build.Public)
	waiting := p.submit(t, build.Public)
	dead := p.agent(t, "dead")
	takeOne(t, dead, "dead")
	takeOne(t, dead, "dead")
	must(t, dead.JobStatus(ctx, started.ID, build.JobRunning, "dead"))
	must(t, dead.TaskStatus(ctx, started.ID, "build", build.TaskRunning))
	waitTask(t, p, started.ID, "build", build.TaskRunning)
	t0 := time.Now()
	// The runner dies: no more heartbeats.
	alive := p.agent(t, "alive")
	l := takeOne(t, alive, "alive")
	if l.Item().JobID != waiting.ID {
		t.Fatalf("alive took %d, want the unstarted job %d", l.Item().JobID, waiting.ID)
	}
	j := p.waitJob(t, started.ID, build.JobFailed, 2*lease+2*time.Second)
	t.Logf("dead runner's job failed after %v (lease %v)", time.Since(t0), lease)
	if j.Tasks[0].Status != build.TaskFailed {
		t.Errorf("running task is %s, want failed", j.Tasks[0].Status)
	}
	var log bytes.Buffer
	rec := httptest.NewRecorder()
	h := logsHandler(p)
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/logs/"+itoa(started.ID)+"/log", nil))
	log.Write(rec.Body.Bytes())
	if !strings.Contains(log.String(), "Runner dead stopped renewing its lease") {
		t.Fatalf("master log = %q", log.String())
	}
}

func TestRunnersRegistry(t *testing.T) {
	p := newPlane(t)
	a := p.agent(t, "r9")
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx, agent.Control{Running: func() []int64 { return []int64{5, 3} }})
	}()
	var rs []dispatch.RunnerInfo
	for range 100 {
		rs, _ = dispatch.Runners(t.Context(), p.rdb, "")
		if len(rs) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(rs) != 1 || rs[0].Name != "r9" || rs[0].Capacity != 2 || len(rs[0].Running) != 2 || rs[0].Running[0] != 3 || rs[0].LogURL != "http://r9/logs/" {
		t.Fatalf("runners = %+v", rs)
	}
	stop()
	<-done
	if rs, _ := dispatch.Runners(t.Context(), p.rdb, ""); len(rs) != 0 {
		t.Fatalf("runner still listed after it stopped: %+v", rs)
	}
}

func xadd(t *testing.T, rdb *goredis.Client, ev, mac string) {
	t.Helper()
	err := rdb.XAdd(context.Background(), &goredis.XAddArgs{Stream: "builds:events", Values: map[string]any{"e": ev, "mac": mac}}).Err()
	must(t, err)
}

func macOf(t *testing.T, p *plane, job int64, ev string) string {
	t.Helper()
	st, err := p.q.State(t.Context(), job)
	must(t, err)
	return wire.MAC(st.Item.Key, []byte(ev))
}

func waitTask(t *testing.T, p *plane, id int64, task string, want build.TaskStatus) {
	t.Helper()
	for range 250 {
		j, err := p.st.Job(t.Context(), id)
		must(t, err)
		if j.Task(task).Status == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("task %s of job %d never became %s", task, id, want)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func logsHandler(p *plane) http.Handler {
	return logs.NewHandler(p.logs, func(*http.Request, int64) bool { return true })
}
