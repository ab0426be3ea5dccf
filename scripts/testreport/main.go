// Command testreport runs `go test -json` with the given arguments and
// prints what a person wants from a CI log: each package's ok/FAIL line,
// the full output of failed tests, and the list of skipped tests. It exits
// non-zero when go test failed, or when any test was skipped while a
// BUILDS_REQUIRE_* variable is set (unless -short was asked for, which
// skips slow tests on purpose). Its last line reads like a go test summary:
//
//	go run ./scripts/testreport -race ./...
//
// With -hostguard as the first argument it also fails when the run left
// new files in /etc, /var or /root (outside the places the system and the
// tools own, see guardIgnored): tests write under their temporary
// directories only.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output and build-fail events
	Test       string
	Output     string
}

// report collects the outcome of a run.
type report struct {
	out     io.Writer
	pending map[string][]string // output of running tests, by package + test
	skipped []string            // "pkg TestName: reason"
	failed  []string
	passed  int
	pkgFail int
	// leftovers are files the run left outside its temporary directories.
	leftovers []string
}

func main() {
	testArgs := os.Args[1:]
	guard := len(testArgs) > 0 && testArgs[0] == "-hostguard"
	var before map[string]bool
	if guard {
		testArgs = testArgs[1:]
		before = snapshot()
	}
	args := append([]string{"test", "-json"}, testArgs...)
	cmd := exec.Command("go", args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fatal(err)
	}
	r := &report{out: os.Stdout, pending: map[string][]string{}}
	r.read(stdout)
	runErr := cmd.Wait()
	if guard {
		r.leftovers = leftovers(before, snapshot())
	}
	os.Exit(r.finish(runErr, slices.Contains(testArgs, "-short"), required(), time.Since(start)))
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "testreport: %v\n", err)
	os.Exit(2)
}

// required reports whether a BUILDS_REQUIRE_* variable is set to 1.
func required() bool {
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BUILDS_REQUIRE_") && strings.HasSuffix(kv, "=1") {
			return true
		}
	}
	return false
}

// read consumes the JSON stream; lines that are not JSON (go vet or
// linker messages) are printed as they are.
func (r *report) read(in io.Reader) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Fprintln(r.out, sc.Text())
			continue
		}
		r.event(e)
	}
}

func (r *report) event(e event) {
	key := e.Package + " " + e.Test
	switch {
	case e.Action == "build-output":
		fmt.Fprint(r.out, e.Output)
	case e.Test == "" && e.Action == "output":
		fmt.Fprint(r.out, e.Output)
	case e.Test == "" && e.Action == "fail":
		r.pkgFail++
		r.flushPackage(e.Package) // e.g. a timeout panic inside a running test
	case e.Test == "":
		// start, pass, or skip of a package without tests
	case e.Action == "output":
		if strings.HasPrefix(e.Output, "=== ") {
			return
		}
		r.pending[key] = append(r.pending[key], e.Output)
	case e.Action == "pass":
		r.passed++
		delete(r.pending, key)
	case e.Action == "skip":
		r.skipped = append(r.skipped, e.Package+" "+e.Test+": "+reason(r.pending[key]))
		delete(r.pending, key)
	case e.Action == "fail":
		r.failed = append(r.failed, e.Package+" "+e.Test)
		fmt.Fprint(r.out, strings.Join(r.pending[key], ""))
		delete(r.pending, key)
	}
}

// flushPackage prints the output of pkg's tests that never finished.
func (r *report) flushPackage(pkg string) {
	keys := make([]string, 0)
	for k := range r.pending {
		if strings.HasPrefix(k, pkg+" ") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprint(r.out, strings.Join(r.pending[k], ""))
		delete(r.pending, k)
	}
}

// reason is the message a skipped test printed, without the "--- SKIP"
// header.
func reason(lines []string) string {
	var msg []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "--- SKIP") {
			msg = append(msg, l)
		}
	}
	if len(msg) == 0 {
		return "(no message)"
	}
	return strings.Join(msg, " | ")
}

// finish prints the skip list and the closing summary line, and returns
// the exit code.
func (r *report) finish(runErr error, short, required bool, took time.Duration) int {
	if len(r.skipped) > 0 {
		fmt.Fprintf(r.out, "\n%d skipped tests:\n", len(r.skipped))
		for _, s := range r.skipped {
			fmt.Fprintf(r.out, "    %s\n", s)
		}
	}
	if len(r.leftovers) > 0 {
		fmt.Fprintf(r.out, "\nthe tests left %d new paths on the host (tests must write under t.TempDir()):\n", len(r.leftovers))
		for _, p := range r.leftovers {
			fmt.Fprintf(r.out, "    %s\n", p)
		}
	}
	code := 0
	why := ""
	switch {
	case runErr != nil || len(r.failed) > 0 || r.pkgFail > 0:
		code = 1
		why = fmt.Sprintf("; failed: %s", strings.Join(r.failed, ", "))
		if len(r.failed) == 0 {
			why = fmt.Sprintf("; %d packages failed (see above)", r.pkgFail)
		}
	case len(r.skipped) > 0 && required && !short:
		code = 1
		why = "; BUILDS_REQUIRE_* is set, so no test may skip (see the list above)"
	case len(r.leftovers) > 0:
		code = 1
		why = "; files left on the host (see the list above)"
	}
	status := "ok  "
	if code != 0 {
		status = "FAIL"
	}
	fmt.Fprintf(r.out, "%s\tall packages\t%.1fs\t(%d passed, %d failed, %d skipped%s)\n",
		status, took.Seconds(), r.passed, len(r.failed), len(r.skipped), why)
	return code
}
