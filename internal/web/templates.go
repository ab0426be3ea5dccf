package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"time"

	"builds/internal/build"
)

// loadStatic records a version for each static file so that URLs change
// when the content does and browsers may cache them for good.
func (s *Server) loadStatic() error {
	s.static = make(map[string]string)
	return fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(staticFS, p)
		if err != nil {
			return fmt.Errorf("read static file: %w", err)
		}
		sum := sha256.Sum256(b)
		s.static[path.Base(p)] = hex.EncodeToString(sum[:6])
		return nil
	})
}

// parseTemplates builds one template set per page: the layout plus the
// page's own file.
func (s *Server) parseTemplates() error {
	funcs := s.funcs()
	base, err := template.New("base.html").Funcs(funcs).ParseFS(templateFS, "templates/base.html")
	if err != nil {
		return fmt.Errorf("parse layout: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return fmt.Errorf("list templates: %w", err)
	}
	s.pages = make(map[string]*template.Template)
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "base" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return fmt.Errorf("parse template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return nil
}

func (s *Server) funcs() template.FuncMap {
	return template.FuncMap{
		"static":   func(name string) string { return "/static/" + name + "?v=" + s.static[name] },
		"ago":      ago,
		"date":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"isodate":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"jobURL":   jobURL,
		"tagURL":   tagURL,
		"tagPaths": tagPaths,
		"icon":     statusIcon,
		"jobDur":   func(j *build.Job) string { return fmtDuration(jobDuration(j, time.Now())) },
		"taskDur": func(j *build.Job, i int) string {
			return fmtDuration(taskDuration(j, i, time.Now()))
		},
		"firstLine": firstLine,
		"octal":     func(m int) string { return fmt.Sprintf("%o", m) },
		"query":     url.QueryEscape,
		"visibilities": func() []string {
			return []string{string(build.Public), string(build.Unlisted), string(build.Private)}
		},
	}
}

func jobURL(j *build.Job) string { return fmt.Sprintf("/~%s/job/%d", j.Owner, j.ID) }

// tagURL is the list of owner's jobs tagged with tags[:n].
func tagURL(owner string, tags []string, n int) string {
	u := "/~" + owner
	for _, t := range tags[:n] {
		u += "/" + url.PathEscape(t)
	}
	return u
}

// tagLink is one element of a job's tag path, linking to the jobs that
// share the tags up to it.
type tagLink struct {
	Name, URL string
}

func tagPaths(j *build.Job) []tagLink {
	out := make([]tagLink, len(j.Tags))
	for i, t := range j.Tags {
		out[i] = tagLink{Name: t, URL: tagURL(j.Owner, j.Tags, i+1)}
	}
	return out
}

// statusIcon is a short symbol shown next to a status; the status word is
// always shown as well, so colour and symbol are never the only cue.
func statusIcon(status any) string {
	switch fmt.Sprint(status) {
	case "success":
		return "✓"
	case "failed", "timeout":
		return "✗"
	case "cancelled":
		return "⊘"
	case "running":
		return "●"
	case "skipped":
		return "–"
	}
	return "○"
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if len(line) > 120 {
		line = line[:117] + "…"
	}
	return line
}

func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 60*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
	return t.UTC().Format("2006-01-02")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// fmtDuration prints d as "1h2m3s", "4m5s" or "6s"; negative means unknown.
func fmtDuration(d time.Duration) string {
	if d < 0 {
		return ""
	}
	return d.Truncate(time.Second).String()
}

// jobDuration is how long the job has run: the store records when its
// status last changed, which for a running job is when it started.
func jobDuration(j *build.Job, now time.Time) time.Duration {
	switch {
	case j.Status == build.JobRunning:
		return now.Sub(j.Updated)
	case j.Status.Terminal():
		return j.Updated.Sub(j.Created)
	}
	return -1
}

// taskDuration derives a task's duration from status change times: a
// running task started when its status last changed; a finished one ran
// from the end of the task before it. The first task's start is unknown
// once it has ended.
func taskDuration(j *build.Job, i int, now time.Time) time.Duration {
	t := j.Tasks[i]
	switch {
	case t.Status == build.TaskRunning:
		return now.Sub(t.Updated)
	case t.Status == build.TaskSuccess || t.Status == build.TaskFailed:
		if i > 0 && j.Tasks[i-1].Status == build.TaskSuccess {
			return t.Updated.Sub(j.Tasks[i-1].Updated)
		}
	}
	return -1
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
