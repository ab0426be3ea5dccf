package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"builds/internal/build"
	"builds/internal/manifest"
	"builds/internal/submit"
)

// submitForm is the submit page's form, as filled in.
type submitForm struct {
	Manifest   string
	Note       string
	Tags       string // slash- or space-separated
	Visibility string
	Secrets    bool
	Execute    bool

	Error    string             // a problem not tied to a manifest line
	Problems []manifest.Problem // manifest problems, with positions
	Lines    []manifestLine     // the manifest, numbered, when it has problems
	Images   []string
}

// manifestLine is one numbered line of a manifest shown with its problems.
type manifestLine struct {
	N        int
	Text     string
	Problems []string
}

const exampleManifest = `image: debian/stable
packages:
  - curl
sources:
  - https://git.example.org/~you/project
tasks:
  - build: |
      cd project
      make
`

func (s *Server) handleSubmitForm(w http.ResponseWriter, r *http.Request) {
	if userFrom(r.Context()) == nil {
		s.fail(w, r, build.Errorf(build.EUNAUTHORIZED, "Sign in first."))
		return
	}
	f := submitForm{Manifest: exampleManifest, Visibility: string(build.Unlisted), Secrets: true, Execute: true}
	// Links such as /submit?manifest=...&note=... (which builds.sr.ht's
	// users and tools make) prefill the form; nothing is submitted.
	q := r.URL.Query()
	if m := q.Get("manifest"); m != "" {
		f.Manifest = strings.ReplaceAll(m, "\r\n", "\n")
	}
	f.Note = q.Get("note")
	f.Tags = q.Get("tags")
	s.renderSubmit(w, r, http.StatusOK, f)
}

func (s *Server) renderSubmit(w http.ResponseWriter, r *http.Request, status int, f submitForm) {
	if s.opt.Images != nil {
		f.Images = s.opt.Images()
	}
	s.render(w, r, status, "submit", "Submit a build", &f)
}

func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request) {
	s.post(false, s.submit)(w, r)
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request, u *build.User) {
	f := submitForm{
		Manifest:   strings.ReplaceAll(r.PostFormValue("manifest"), "\r\n", "\n"),
		Note:       strings.TrimSpace(r.PostFormValue("note")),
		Tags:       strings.TrimSpace(r.PostFormValue("tags")),
		Visibility: r.PostFormValue("visibility"),
		Secrets:    r.PostFormValue("secrets") != "",
		Execute:    r.PostFormValue("execute") != "",
	}
	j, err := s.opt.Submit.Submit(r.Context(), u, submit.SubmitInput{
		Manifest: f.Manifest, Tags: splitTags(f.Tags), Note: f.Note, Secrets: f.Secrets,
		Execute: f.Execute, Visibility: build.Visibility(f.Visibility),
	})
	if err == nil {
		http.Redirect(w, r, jobURL(j), http.StatusSeeOther)
		return
	}
	var perr *manifest.Errors
	switch {
	case errors.As(err, &perr):
		f.Problems = append(slices.Clone(perr.Problems), asWarnings(perr.Warnings)...)
		f.Lines = numberLines(f.Manifest, f.Problems)
	case build.ErrorCode(err) == build.EINVALID:
		f.Error = build.ErrorMessage(err)
	default:
		s.fail(w, r, err)
		return
	}
	s.renderSubmit(w, r, http.StatusBadRequest, f)
}

// asWarnings marks manifest warnings (accepted but ignored) for display
// beside the problems, since they often explain one (e.g. "task" written
// for "tasks").
func asWarnings(ws []manifest.Problem) []manifest.Problem {
	out := make([]manifest.Problem, len(ws))
	for i, w := range ws {
		w.Message = "warning: " + w.Message
		out[i] = w
	}
	return out
}

func splitTags(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == ' ' || r == ',' })
}

// numberLines pairs each manifest line with the problems found on it.
func numberLines(text string, problems []manifest.Problem) []manifestLine {
	raw := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	lines := make([]manifestLine, len(raw))
	for i, l := range raw {
		lines[i] = manifestLine{N: i + 1, Text: l}
	}
	for _, p := range problems {
		if p.Line >= 1 && p.Line <= len(lines) {
			msg := p.Message
			if p.Path != "" {
				msg = p.Path + ": " + msg
			}
			lines[p.Line-1].Problems = append(lines[p.Line-1].Problems, msg)
		}
	}
	return lines
}
