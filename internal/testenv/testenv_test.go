package testenv_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"builds/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func pgQuery(t *testing.T, conn string, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, conn)
	if err != nil {
		t.Fatalf("connect %s: %v", conn, err)
	}
	defer c.Close(ctx)
	// Run all but the last statement of a script, then read the last one.
	stmts := strings.Split(sql, "; ")
	for _, st := range stmts[:len(stmts)-1] {
		if _, err := c.Exec(ctx, st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	var out string
	if err := c.QueryRow(ctx, stmts[len(stmts)-1]).Scan(&out); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func TestPostgresSharedFreshDatabases(t *testing.T) {
	a, b := testenv.Postgres(t), testenv.Postgres(t)
	if a == b {
		t.Fatalf("two calls returned the same database %s", a)
	}
	pgQuery(t, a, `CREATE TABLE x (v text); INSERT INTO x VALUES ('a') RETURNING v`)
	if n := pgQuery(t, b, `SELECT count(*)::text FROM pg_tables WHERE tablename = 'x'`); n != "0" {
		t.Errorf("second database sees the first one's table")
	}
	if v := pgQuery(t, a, `SHOW server_version`); !strings.HasPrefix(v, "15") {
		t.Errorf("server_version = %s, want 15.x", v)
	}
	if v := pgQuery(t, a, `SHOW fsync`); v != "off" {
		t.Errorf("fsync = %s, want off", v)
	}
}

func TestPostgresRestart(t *testing.T) {
	s := testenv.StartPostgres(t)
	conn := s.CreateDB(t)
	pgQuery(t, conn, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('here') RETURNING v`)
	s.Restart(t)
	if v := pgQuery(t, conn, `SELECT v FROM kept`); v != "here" {
		t.Errorf("after restart: %q, want here", v)
	}
	s.Stop(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if c, err := pgx.Connect(ctx, conn); err == nil {
		c.Close(ctx)
		t.Fatal("connected to a stopped server")
	}
	s.Start(t)
	pgQuery(t, conn, `SELECT 'up'`)
}

func redisDo(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial redis: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(c, "%s\r\n", cmd)
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	if strings.HasPrefix(line, "$") && line != "$-1\r\n" {
		line, _ = r.ReadString('\n')
	}
	return strings.TrimSpace(line)
}

func TestRedis(t *testing.T) {
	a, b := testenv.Redis(t), testenv.Redis(t)
	if a == b {
		t.Fatal("two servers share an address")
	}
	redisDo(t, a, "SET k v")
	if got := redisDo(t, b, "GET k"); got != "$-1" {
		t.Errorf("second server sees the first one's key: %q", got)
	}
	if got := redisArray(t, a, "CONFIG GET appendonly"); len(got) != 2 || got[0] != "appendonly" || got[1] != "no" {
		t.Errorf("CONFIG GET appendonly = %q, want [appendonly no]: Redis without options must not persist", got)
	}
}

// redisArray sends cmd and reads an array of bulk strings in reply.
func redisArray(t *testing.T, addr, cmd string) []string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial redis: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(c, "%s\r\n", cmd)
	r := bufio.NewReader(c)
	line := func() string {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return strings.TrimSuffix(l, "\r\n")
	}
	head := line()
	var n int
	if _, err := fmt.Sscanf(head, "*%d", &n); err != nil {
		t.Fatalf("%s: reply %q is not an array", cmd, head)
	}
	var out []string
	for range n {
		if l := line(); !strings.HasPrefix(l, "$") {
			t.Fatalf("%s: element %q is not a bulk string", cmd, l)
		}
		out = append(out, line())
	}
	return out
}

func TestRedisRestartKeepsAppendOnlyData(t *testing.T) {
	r := testenv.StartRedis(t, testenv.RedisOptions{AppendOnly: true})
	redisDo(t, r.Addr, "SET before restart")
	r.Restart(t)
	if got := redisDo(t, r.Addr, "GET before"); got != "restart" {
		t.Errorf("after Restart GET = %q, want restart", got)
	}
	redisDo(t, r.Addr, "SET before2 crash")
	r.Kill(t)
	r.Start(t)
	if got := redisDo(t, r.Addr, "GET before2"); got != "crash" {
		t.Errorf("after Kill and Start GET = %q, want crash", got)
	}
}

func TestRedisWithoutPersistenceForgets(t *testing.T) {
	r := testenv.StartRedis(t, testenv.RedisOptions{})
	redisDo(t, r.Addr, "SET k v")
	r.Restart(t)
	if got := redisDo(t, r.Addr, "GET k"); got != "$-1" {
		t.Errorf("a server without persistence kept %q across a restart", got)
	}
}
