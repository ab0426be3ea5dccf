package manifest

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// How a task ends a job early with success ("complete-build").
//
// Contract for the runner:
//
//   - Install CompleteBuildScript in the guest at CompleteBuildPath, mode
//     0755, before the first task runs.
//   - Run each task with the script TaskScript returns.
//   - After every task that exits with status 0, check whether
//     CompleteMarker exists in the build user's home (e.g. run
//     "test -e ~/.complete-build"). If it does, the job has succeeded: mark
//     the remaining tasks skipped and run no more tasks.
//   - A task that exits with another status fails as usual, even if it
//     created the marker first.
//
// What the user sees: a task that calls complete-build directly ends at
// once with success, because TaskScript defines complete-build as a shell
// function that creates the marker and exits the task's shell with status
// 0; the commands after the call do not run. When complete-build runs
// where it cannot end the task's shell (in a subshell or pipeline, or
// from another program such as make), the installed script only creates
// the marker; the task then runs to its end and, if it succeeds, the
// remaining tasks are skipped. complete-build must run as the build user
// (not under sudo), since the marker lives in $HOME.
const (
	// CompleteBuildPath is where the runner installs CompleteBuildScript.
	CompleteBuildPath = "/usr/local/bin/complete-build"
	// CompleteMarker is the marker's name in the build user's home.
	CompleteMarker = ".complete-build"
	// CompleteBuildScript is the complete-build program for the guest.
	CompleteBuildScript = `#!/bin/sh
# complete-build: end this job early with success. The task that calls it
# stops at once when it calls it directly; otherwise the task runs to its
# end, and the tasks after it are skipped.
set -e
touch "$HOME/` + CompleteMarker + `"
`
)

// acurlFunc defines acurl, as builds.sr.ht's task preamble does for jobs
// with an oauth key: curl with the job's OAUTH2_TOKEN as bearer token. It
// runs in a subshell with tracing off, so "set -x" never echoes the token.
const acurlFunc = `acurl() (
	set +x
	curl --oauth2-bearer "$OAUTH2_TOKEN" "$@"
)
`

// TaskScript returns the bash script the guest runs for task t: it sources
// the environment file, defines the complete-build function (see
// CompleteBuildPath) and, when the manifest has an oauth key, the acurl
// function (curl with OAUTH2_TOKEN), turns on "set -xe" so that each command is echoed
// into the log and the first failing command fails the task, then runs
// the task's own lines. The environment is sourced before "set -x" so its
// values are not echoed into the log.
func (m *Manifest) TaskScript(t Task) string {
	var b strings.Builder
	b.WriteString("#!/usr/bin/env bash\n")
	if taskName.MatchString(t.Name) {
		fmt.Fprintf(&b, "# Task %s.\n", t.Name)
	}
	b.WriteString(". ~/" + EnvFileName + "\n")
	b.WriteString("complete-build() {\n\ttouch ~/" + CompleteMarker + " || return\n\texit 0\n}\n")
	if m.OAuth != "" || len(m.OAuthForeign) > 0 {
		b.WriteString(acurlFunc)
	}
	b.WriteString("set -xe\n")
	b.WriteString(t.Script)
	if !strings.HasSuffix(t.Script, "\n") {
		b.WriteString("\n")
	}
	return b.String()
}

// taskName is what a task may be called.
var taskName = regexp.MustCompile(`^[a-z0-9_-]+$`)

// maxTaskName is the longest task name accepted.
const maxTaskName = 128

func (p *parser) tasks(v *yaml.Node) {
	seen := map[string]int{}
	p.list("tasks", v, func(path string, item *yaml.Node) {
		m := deref(item)
		if m.Kind != yaml.MappingNode || len(m.Content) != 2 {
			p.errorf(item, path, "each task must be one \"name: script\" pair, e.g. \"- build: make\"")
			return
		}
		k, body := m.Content[0], m.Content[1]
		if !p.taskName(path, k, seen) {
			return
		}
		if isNull(body) || deref(body).Kind != yaml.ScalarNode {
			p.errorf(body, path, "the script of task %q must be text; write its commands after \"%s: |\"", k.Value, k.Value)
			return
		}
		if script, ok := p.text(path, body); ok {
			p.m.Tasks = append(p.m.Tasks, Task{Name: k.Value, Script: script})
		}
	})
}

// taskName checks a task's name and records it in seen.
func (p *parser) taskName(path string, k *yaml.Node, seen map[string]int) bool {
	name := k.Value
	switch {
	case k.Kind != yaml.ScalarNode || isNull(k):
		p.errorf(k, path, "task name must be a plain name, not %s", kindName(k))
	case len(name) > maxTaskName:
		p.errorf(k, path, "task name is %d characters long; the limit is %d", len(name), maxTaskName)
	case !taskName.MatchString(name):
		p.errorf(k, path, "task name %q must be lowercase letters, digits, '_' and '-'", name)
	case seen[name] > 0:
		p.errorf(k, path, "task name %q is used twice (first on line %d); task names must be unique", name, seen[name])
	default:
		seen[name] = k.Line
		return true
	}
	return false
}
