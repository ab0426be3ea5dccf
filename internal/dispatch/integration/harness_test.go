package integration_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"builds/internal/build"
	"builds/internal/dispatch"
	"builds/internal/lifecycle"
	"builds/internal/logs"
	"builds/internal/secretbox"
	"builds/internal/store"
	"builds/internal/store/postgres"
	"builds/internal/submit"
	"builds/internal/testenv"
)

const lease = 2 * time.Second

var (
	binary     string
	networkKey = []byte("0123456789abcdef0123456789abcdef")
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "builds-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "builds")
	if err := testenv.GoBuild("builds/cmd/builds", binary); err != nil {
		fmt.Fprintf(os.Stderr, "build the builds binary: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// master is the in-process master of a test.
type master struct {
	redisAddr string
	rdb       *goredis.Client
	st        store.Store
	m         *dispatch.Master
	svc       *submit.Service
	user      *build.User
	logs      *logs.Dir
	life      *lifecycle.Lifecycle
	mu        sync.Mutex
	ends      map[int64]int
	stop      func() // stops Run; safe to call twice
}

func startMaster(t testing.TB, redisAddr, pgConn string) *master {
	t.Helper()
	ctx := context.Background()
	ms := &master{redisAddr: redisAddr, ends: map[int64]int{}}
	ms.rdb = goredis.NewClient(&goredis.Options{Addr: redisAddr})
	t.Cleanup(func() { ms.rdb.Close() })
	st, err := postgres.Open(ctx, pgConn, networkKey)
	must(t, err)
	t.Cleanup(func() { st.Close() })
	must(t, st.Migrate(ctx))
	ms.st = st
	ms.user = &build.User{Name: "alice", Email: "alice@example.org"}
	if err := st.CreateUser(ctx, ms.user); err != nil { // a master started again on the same database
		ms.user, err = st.UserByName(ctx, "alice")
		must(t, err)
	}
	ms.logs, err = logs.Open(filepath.Join(tempDir(t), "master-logs"))
	must(t, err)
	ms.life = lifecycle.New(lifecycle.Options{Store: st, Logs: ms.logs})
	ms.m, err = dispatch.NewMaster(ms.rdb, nil, st, dispatch.MasterOptions{
		NetworkKey: networkKey, Origin: "http://master.test", LeaseTime: lease, Logs: ms.logs,
		AllowLog: func(*http.Request, int64) bool { return true }, Life: ms.life,
	})
	must(t, err)
	ms.svc = &submit.Service{Store: st, Life: ms.life}
	sub := ms.life.Bus().Subscribe(0, func(ev *lifecycle.Event) bool { return ev.Kind == lifecycle.JobEnded })
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		for range sub.Ready() {
			evs, _ := sub.Next()
			ms.mu.Lock()
			for _, ev := range evs {
				ms.ends[ev.JobID]++
			}
			ms.mu.Unlock()
		}
	}()
	t.Cleanup(func() { sub.Close(); <-subDone })
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); ms.m.Run(runCtx) }()
	ms.stop = func() { stop(); <-done }
	t.Cleanup(ms.stop)
	return ms
}

func tempDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "builds-it-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

const jobManifest = `image: debian/bookworm
tasks:
  - build: make
  - test: make check
`

func (ms *master) submit(t testing.TB, n int, vis build.Visibility) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range ids {
		j, err := ms.svc.Submit(context.Background(), ms.user, submit.SubmitInput{Manifest: jobManifest, Execute: true, Visibility: vis})
		must(t, err)
		ids[i] = j.ID
	}
	return ids
}

// wait waits until every job is terminal and returns them.
func (ms *master) wait(t testing.TB, ids []int64, within time.Duration) map[int64]*build.Job {
	t.Helper()
	deadline := time.Now().Add(within)
	out := map[int64]*build.Job{}
	for _, id := range ids {
		for {
			j, err := ms.st.Job(context.Background(), id)
			if err == nil && j.Status.Terminal() {
				out[id] = j
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %d is still %v after %v", id, statusOf(j), within)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return out
}

func statusOf(j *build.Job) build.JobStatus {
	if j == nil {
		return "unreadable"
	}
	return j.Status
}

// runnerProc is a `builds runner` process.
type runnerProc struct {
	name    string
	conf    string
	logDir  string
	cmd     *exec.Cmd
	output  string
	stopped bool
}

type runnerOpts struct {
	concurrency int
	step        time.Duration
}

func startRunner(t testing.TB, redisAddr string, o runnerOpts) *runnerProc {
	t.Helper()
	dir := tempDir(t)
	port := freePort(t)
	r := &runnerProc{name: fmt.Sprintf("127.0.0.1:%d", port), logDir: filepath.Join(dir, "logs"), output: filepath.Join(dir, "output")}
	conf := fmt.Sprintf(`[sr.ht]
network-key = %s
[builds.sr.ht]
redis = redis://%s
data-dir = %s
[builds.sr.ht::worker]
name = %s
bind-address = %s
buildlogs = %s
concurrency = %d
arches = amd64
`, secretbox.EncodeKey(networkKey), redisAddr, dir, r.name, r.name, r.logDir, max(o.concurrency, 1))
	confPath := filepath.Join(dir, "builds.ini")
	must(t, os.WriteFile(confPath, []byte(conf), 0o600))
	r.conf = confPath
	out, err := os.Create(r.output)
	must(t, err)
	r.cmd = exec.Command(binary, "runner", "--config", confPath, "--lease-time", lease.String(),
		"--fake-vm", "--fake-vm-step", o.step.String())
	r.cmd.Stdout, r.cmd.Stderr = out, out
	must(t, r.cmd.Start())
	t.Cleanup(func() {
		r.kill()
		out.Close()
		b, _ := os.ReadFile(r.output)
		if rep := testenv.RaceReports(string(b)); rep != "" {
			t.Errorf("runner %s found a data race:\n%s", r.name, rep)
		}
		if t.Failed() {
			b, _ := os.ReadFile(r.output)
			t.Logf("runner %s output:\n%s", r.name, tail(string(b), 4000))
		}
	})
	return r
}

func (r *runnerProc) kill() {
	if r.stopped {
		return
	}
	r.stopped = true
	r.cmd.Process.Signal(syscall.SIGKILL)
	r.cmd.Wait()
}

// ran reports whether the runner wrote a log for the job.
func (r *runnerProc) ran(id int64) bool {
	_, err := os.Stat(filepath.Join(r.logDir, fmt.Sprint(id), "log"))
	return err == nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitRunners waits until n runners are registered.
func (ms *master) waitRunners(t testing.TB, n int) {
	t.Helper()
	for i := 0; ; i++ {
		rs, _ := ms.m.Runners(context.Background())
		if len(rs) >= n {
			return
		}
		if i > 500 {
			t.Fatalf("%d of %d runners registered", len(rs), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
