package manifest_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"builds/internal/manifest"
	"builds/internal/testenv"
)

func TestTaskScript(t *testing.T) {
	m := parse(t, "image: debian/bookworm\ntasks:\n- build: make\n")
	want := "#!/usr/bin/env bash\n# Task build.\n. ~/.buildenv\n" +
		"complete-build() {\n\ttouch ~/.complete-build || return\n\texit 0\n}\nset -xe\nmake\n"
	if got := m.TaskScript(m.Tasks[0]); got != want {
		t.Errorf("TaskScript:\n%s\nwant:\n%s", got, want)
	}
}

// guest is a stand-in for the build user's home in a guest: it runs task
// scripts with bash the way the runner does, with HOME pointing at dir and
// CompleteBuildScript installed on PATH.
type guest struct {
	t    *testing.T
	home string
	bin  string
}

func newGuest(t *testing.T, m *manifest.Manifest) *guest {
	t.Helper()
	testenv.NeedTool(t, "", "bash", "bash")
	g := &guest{t: t, home: t.TempDir(), bin: t.TempDir()}
	write(t, filepath.Join(g.home, manifest.EnvFileName), m.EnvFile(manifest.EnvVar{Name: "JOB_ID", Value: "7"}), 0o644)
	write(t, filepath.Join(g.bin, filepath.Base(manifest.CompleteBuildPath)), manifest.CompleteBuildScript, 0o755)
	return g
}

func write(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

// run runs one task and returns its exit status and output.
func (g *guest) run(m *manifest.Manifest, task manifest.Task) (int, string) {
	g.t.Helper()
	cmd := exec.Command("bash", "-c", m.TaskScript(task))
	cmd.Dir = g.home
	cmd.Env = []string{"HOME=" + g.home, "PATH=" + g.bin + ":" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	case err != nil:
		g.t.Fatalf("run task %s: %v", task.Name, err)
	}
	return 0, string(out)
}

func (g *guest) exists(name string) bool {
	_, err := os.Stat(filepath.Join(g.home, name))
	return err == nil
}

func TestTaskScriptRuns(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		status   int  // 0 or "non-zero" for anything else
		complete bool // whether the marker exists afterwards
		after    bool // whether the command after the interesting one ran
	}{
		{"success", "test \"$GREETING\" = 'hi there'\ntest \"$JOB_ID\" = 7\ntouch after", 0, false, true},
		{"first failing command fails the task", "false\ntouch after", 1, false, false},
		{"complete-build ends the task", "complete-build\ntouch after\nfalse", 0, true, false},
		{"complete-build in a condition", "if true; then complete-build; fi\ntouch after", 0, true, false},
		{"complete-build in a subshell", "( complete-build )\ntouch after", 0, true, true},
		{"complete-build from another program", "sh -c complete-build\ntouch after", 0, true, true},
		{"failure after marker still fails", "sh -c complete-build\nfalse\ntouch after", 1, true, false},
	}
	m := parse(t, "image: debian/bookworm\ntasks: [{a: b}]\nenvironment: {GREETING: hi there}\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGuest(t, m)
			status, out := g.run(m, manifest.Task{Name: "t", Script: tt.script})
			if (status == 0) != (tt.status == 0) {
				t.Errorf("exit status %d, want %d\n%s", status, tt.status, out)
			}
			if got := g.exists(manifest.CompleteMarker); got != tt.complete {
				t.Errorf("marker exists = %v, want %v", got, tt.complete)
			}
			if got := g.exists("after"); got != tt.after {
				t.Errorf("command after ran = %v, want %v\n%s", got, tt.after, out)
			}
		})
	}
}

// TestTaskScriptTrace checks that commands are echoed (set -x) but the
// environment's values are not, since they are sourced before set -x.
func TestTaskScriptTrace(t *testing.T) {
	m := parse(t, "image: debian/bookworm\ntasks: [{a: b}]\nenvironment: {TOKEN: s3cr3t-value}\n")
	g := newGuest(t, m)
	_, out := g.run(m, manifest.Task{Name: "t", Script: "echo visible-command"})
	if !strings.Contains(out, "+ echo visible-command") {
		t.Errorf("command not traced:\n%s", out)
	}
	if strings.Contains(out, "s3cr3t-value") {
		t.Errorf("environment value echoed into the log:\n%s", out)
	}
}

// TestEnvFileAppend checks that a task can hand a value to a later task
// by appending to the environment file.
func TestEnvFileAppend(t *testing.T) {
	m := parse(t, "image: debian/bookworm\ntasks: [{a: b}]\n")
	g := newGuest(t, m)
	if status, out := g.run(m, manifest.Task{Name: "a", Script: "echo VERSION=1.2 >> ~/.buildenv"}); status != 0 {
		t.Fatalf("first task failed:\n%s", out)
	}
	if status, out := g.run(m, manifest.Task{Name: "b", Script: "test \"$VERSION\" = 1.2"}); status != 0 {
		t.Fatalf("second task did not see VERSION:\n%s", out)
	}
}
