package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresBin is where Debian's postgresql-15 package puts the server.
// BUILDS_PG_BIN overrides it.
const PostgresBin = "/usr/lib/postgresql/15/bin"

// PostgresServer is a throwaway PostgreSQL server: data in a temporary
// directory, listening on 127.0.0.1 only, trust authentication for the
// superuser "postgres", fsync off.
type PostgresServer struct {
	bin  string
	dir  string // data directory; the unix socket lives here too
	port int
	cred *syscall.Credential // whom the server runs as (root may not)
	p    *proc
	dbs  atomic.Int64
}

// StartPostgres starts a server that belongs to tb alone: Restart and
// Stop are safe to use. It is removed when tb ends.
func StartPostgres(tb testing.TB) *PostgresServer {
	tb.Helper()
	s, err := newPostgres(need(tb, pgBin("postgres"), "postgresql-15"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.remove)
	return s
}

// shared is the server that Postgres hands databases out of; one per test
// binary, stopped by Main (or, failing that, when the binary exits).
var shared struct {
	once sync.Once
	s    *PostgresServer
	err  error
}

// Postgres returns the connection string of a new, empty database on a
// server shared by the whole test binary. The database is dropped when tb
// ends. Use StartPostgres to restart or stop a server.
func Postgres(tb testing.TB) string {
	tb.Helper()
	path := need(tb, pgBin("postgres"), "postgresql-15")
	shared.once.Do(func() {
		removeStale()
		shared.s, shared.err = newPostgres(path)
	})
	if shared.err != nil {
		tb.Fatalf("shared postgres: %v", shared.err)
	}
	return shared.s.CreateDB(tb)
}

// Main runs the tests of a package and then stops the shared PostgreSQL
// server. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// Without it the server still dies with the test binary, and its
// directory is removed by the next binary that starts a shared server.
func Main(m *testing.M) {
	code := m.Run()
	if shared.s != nil {
		shared.s.remove()
	}
	os.Exit(code)
}

func pgBin(name string) string {
	dir := os.Getenv("BUILDS_PG_BIN")
	if dir == "" {
		dir = PostgresBin
	}
	return filepath.Join(dir, name)
}

// newPostgres makes a data directory with initdb and starts the server.
// Its directory's name carries our PID, so that removeStale can tell when
// its owner is gone.
func newPostgres(postgresPath string) (*PostgresServer, error) {
	prefix := fmt.Sprintf("builds-testenv-pg-%d-", os.Getpid())
	s := &PostgresServer{bin: filepath.Dir(postgresPath)}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	s.cred = cred
	if s.dir, err = os.MkdirTemp("", prefix); err != nil {
		return nil, fmt.Errorf("postgres data dir: %w", err)
	}
	if err := s.initdb(); err != nil {
		os.RemoveAll(s.dir)
		return nil, err
	}
	for range 3 { // another process may take the free port first
		if s.port, err = freePort(); err != nil {
			break
		}
		if err = s.start(); err == nil {
			return s, nil
		}
	}
	os.RemoveAll(s.dir)
	return nil, fmt.Errorf("start postgres: %w", err)
}

// serverCredential returns the postgres user's IDs when we run as root,
// because the server refuses to run as root; nil otherwise.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("tests run as root, and postgres may not: need a postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// initdb fills s.dir/data with a fresh cluster, copied from a template
// cluster that is made once per machine: initdb takes seconds, a copy a
// fraction of that.
func (s *PostgresServer) initdb() error {
	if s.cred != nil {
		if err := os.Chown(s.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fmt.Errorf("postgres data dir: %w", err)
		}
	}
	tmpl, err := s.template()
	if err != nil {
		return err
	}
	out, err := exec.Command("cp", "-a", tmpl, filepath.Join(s.dir, "data")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("copy template cluster: %w: %s", err, out)
	}
	return nil
}

// template returns the template cluster's directory, making it if needed.
// It is made under a temporary name and renamed into place, so that
// concurrent test binaries never see half of one.
func (s *PostgresServer) template() (string, error) {
	version := filepath.Base(filepath.Dir(s.bin)) // "15" in /usr/lib/postgresql/15/bin
	final := filepath.Join(os.TempDir(), "builds-testenv-pg-template-"+version)
	if _, err := os.Stat(filepath.Join(final, "PG_VERSION")); err == nil {
		return final, nil
	}
	work, err := os.MkdirTemp("", "builds-testenv-pg-initdb-")
	if err != nil {
		return "", fmt.Errorf("initdb: %w", err)
	}
	defer os.RemoveAll(work)
	if s.cred != nil {
		if err := os.Chown(work, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return "", fmt.Errorf("initdb: %w", err)
		}
	}
	cmd := exec.Command(filepath.Join(s.bin, "initdb"), "-D", filepath.Join(work, "data"), "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("initdb: %w: %s", err, tail(string(out)))
	}
	// Losing the race to another binary is fine: its template is as good.
	if err := os.Rename(filepath.Join(work, "data"), final); err != nil {
		if _, statErr := os.Stat(filepath.Join(final, "PG_VERSION")); statErr != nil {
			return "", fmt.Errorf("install template cluster: %w", err)
		}
	}
	return final, nil
}

func (s *PostgresServer) start() error {
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", filepath.Join(s.dir, "data"),
		"-h", "127.0.0.1", "-p", strconv.Itoa(s.port), "-k", s.dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "shared_buffers=64MB", "-c", "logging_collector=off",
		"-c", "log_min_messages=warning")
	p, err := startProc(cmd, s.cred)
	if err != nil {
		return err
	}
	if err := p.waitReady(30*time.Second, s.ping); err != nil {
		p.stop(syscall.SIGKILL, time.Second)
		return err
	}
	s.p = p
	return nil
}

func (s *PostgresServer) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.ConnString("postgres"))
	if err != nil {
		return err
	}
	return c.Close(ctx)
}

// ConnString returns the URL of database db on the server.
func (s *PostgresServer) ConnString(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// exec runs one statement as the superuser in the postgres database.
func (s *PostgresServer) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, s.ConnString("postgres"))
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, sql)
	return err
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// CreateDB creates an empty database named after tb and returns its
// connection string. The database is dropped when tb ends, after the
// cleanups tb registered later (such as closing a pool) have run; the drop
// disconnects any client still connected.
func (s *PostgresServer) CreateDB(tb testing.TB) string {
	tb.Helper()
	name := unsafeName.ReplaceAllString(strings.ToLower(tb.Name()), "_")
	name = fmt.Sprintf("t%d_%s", s.dbs.Add(1), name)
	if len(name) > 63 {
		name = name[:63]
	}
	if err := s.exec(`CREATE DATABASE "` + name + `"`); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if s.p != nil && !s.p.exited() {
			s.exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`)
		}
	})
	return s.ConnString(name)
}

// Stop shuts the server down (fast shutdown: clients are disconnected).
func (s *PostgresServer) Stop(tb testing.TB) {
	tb.Helper()
	s.p.stop(syscall.SIGINT, 30*time.Second)
}

// Start starts a stopped server again on the same port and data.
func (s *PostgresServer) Start(tb testing.TB) {
	tb.Helper()
	if !s.p.exited() {
		tb.Fatal("postgres: Start while the server runs")
	}
	if err := s.start(); err != nil {
		tb.Fatalf("restart postgres: %v", err)
	}
}

// Restart is Stop then Start.
func (s *PostgresServer) Restart(tb testing.TB) {
	tb.Helper()
	s.Stop(tb)
	s.Start(tb)
}

// remove stops the server (immediate shutdown) and deletes its data.
func (s *PostgresServer) remove() {
	s.p.stop(syscall.SIGQUIT, 10*time.Second)
	os.RemoveAll(s.dir)
}

// removeStale deletes the directories of shared servers whose test binary
// is gone (it died before Main could clean up).
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "builds-testenv-pg-*-*"))
	for _, d := range dirs {
		f := strings.Split(filepath.Base(d), "-")
		pid, err := strconv.Atoi(f[len(f)-2])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(d)
		}
	}
}
