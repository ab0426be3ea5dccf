package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const stream = `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: git not found\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"--- SKIP: TestB (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Output":"ok  \tp\t0.1s\n"}
{"Action":"pass","Package":"p"}
`

func run(t *testing.T, in string, runErr error, short, required bool) (string, int) {
	t.Helper()
	var out bytes.Buffer
	r := &report{out: &out, pending: map[string][]string{}}
	r.read(strings.NewReader(in))
	code := r.finish(runErr, short, required, 0)
	return out.String(), code
}

func TestSkipFailsWhenRequired(t *testing.T) {
	out, code := run(t, stream, nil, false, true)
	if code == 0 {
		t.Errorf("exit 0 with a skipped test under BUILDS_REQUIRE_*:\n%s", out)
	}
	if !strings.Contains(out, "p TestB: b_test.go:9: git not found") {
		t.Errorf("skip list lacks TestB and its reason:\n%s", out)
	}
	last := out[strings.LastIndex(strings.TrimSuffix(out, "\n"), "\n")+1:]
	if !strings.HasPrefix(last, "FAIL\t") || !strings.Contains(last, "1 passed, 0 failed, 1 skipped") {
		t.Errorf("last line %q is not a FAIL summary", last)
	}
	if strings.Contains(out, "=== RUN") || !strings.Contains(out, "ok  \tp\t0.1s") {
		t.Errorf("output is not the usual package summary:\n%s", out)
	}
}

func TestSkipAllowed(t *testing.T) {
	for _, c := range []struct{ short, required bool }{{false, false}, {true, true}} {
		if out, code := run(t, stream, nil, c.short, c.required); code != 0 || !strings.Contains(out, "ok  \tall packages") {
			t.Errorf("short=%v required=%v: exit %d\n%s", c.short, c.required, code, out)
		}
	}
}

func TestFailurePrintsOutput(t *testing.T) {
	in := `{"Action":"output","Package":"p","Test":"TestC","Output":"    c_test.go:3: boom\n"}
{"Action":"fail","Package":"p","Test":"TestC"}
{"Action":"output","Package":"p","Test":"TestD","Output":"panic: test timed out\n"}
{"Action":"fail","Package":"p"}
`
	out, code := run(t, in, errors.New("exit status 1"), false, false)
	if code == 0 || !strings.Contains(out, "boom") || !strings.Contains(out, "timed out") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

func TestPackageWithoutTestsIsNoSkip(t *testing.T) {
	in := `{"Action":"output","Package":"q","Output":"?   \tq\t[no test files]\n"}
{"Action":"skip","Package":"q"}
`
	if out, code := run(t, in, nil, false, true); code != 0 || !strings.Contains(out, "0 skipped") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

func TestLeftovers(t *testing.T) {
	before := map[string]bool{"/etc": true, "/etc/a": true}
	after := map[string]bool{"/etc": true, "/etc/a": true, "/etc/app-secret": true, "/etc/new": true, "/etc/new/x": true}
	got := strings.Join(leftovers(before, after), " ")
	if got != "/etc/app-secret /etc/new" {
		t.Errorf("leftovers = %q", got)
	}
	if !ignored("/var/cache/builds/images/x") || ignored("/var/cache/buildsx") || ignored("/etc/app-secret") {
		t.Error("ignored() disagrees with guardIgnored")
	}
	var out bytes.Buffer
	r := &report{out: &out, pending: map[string][]string{}, leftovers: []string{"/etc/app-secret"}}
	if code := r.finish(nil, false, true, 0); code == 0 || !strings.Contains(out.String(), "/etc/app-secret") {
		t.Errorf("exit %d with a leftover file:\n%s", code, out.String())
	}
}
