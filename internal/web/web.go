// Package web is the server-rendered HTML interface: sign-in, job pages
// with live logs, job lists, submission, secrets, settings, badges, feeds
// and the administrators' overview. Pages work without JavaScript; a small
// script adds live updates where it runs.
//
// Reads go to the store directly; every change goes through the
// submission service, so the web UI follows the same rules as the APIs.
package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"builds/internal/build"
	"builds/internal/httpx"
	"builds/internal/store"
	"builds/internal/submit"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Admin tells administrators what the runners are doing. The serve command
// implements it over whatever queue and runners it wired.
type Admin interface {
	Runners(ctx context.Context) []RunnerInfo
	QueueDepth(ctx context.Context) int
}

// LogReader reads job logs for the job pages, wherever the logs are kept.
// In each method task "" names the job's own log. The web interface checks
// access itself before calling it.
type LogReader interface {
	// Tail returns the last n bytes of a log, or all of it when it is
	// shorter, and the offset where they start. A log with no output yet
	// is an ENOTFOUND error.
	Tail(ctx context.Context, jobID int64, task string, n int64) ([]byte, int64, error)
	// Follow calls fn with a log's bytes from offset on, as they are
	// written, until the log is complete (nil), ctx ends or fn fails. It
	// waits for a log that does not exist yet.
	Follow(ctx context.Context, jobID int64, task string, offset int64, fn func([]byte) error) error
	// ServeLog answers a request for the whole log as it is now, honouring
	// Range; 404 when it does not exist.
	ServeLog(w http.ResponseWriter, r *http.Request, jobID int64, task string)
}

// RunnerInfo describes one runner for the admin page.
type RunnerInfo struct {
	Name     string
	Arches   []string
	Jobs     []int64 // jobs it is running now
	LastSeen time.Time
}

// Options configure the web interface. Store, Submit and Logs are
// required.
type Options struct {
	Store  store.Store
	Submit *submit.Service
	// Logs is where job pages read and follow logs: a *logs.Dir on one
	// host, the master's log proxy when runners keep the logs.
	Logs LogReader
	// SiteName is shown in titles and the header; default "builds".
	SiteName string
	// Origin is the public URL of the service, e.g. https://builds.example;
	// it makes absolute links in feeds and decides whether cookies are
	// marked Secure.
	Origin string
	// Key signs session cookies and login links; at least 32 bytes. The
	// same key must be given to LoginLink. Nil means a random key per
	// process: sessions then end when the process restarts.
	Key []byte
	// Admin feeds the admin page; nil shows it empty.
	Admin Admin
	// NewToken makes a personal access token: the value shown once and
	// the hash stored. Wire httpx.NewToken, so that the API accepts what the
	// settings page creates; nil disables token creation.
	NewToken func() (value string, hash []byte, err error)
	// Images lists the images shown as suggestions on the submit page;
	// it may be nil.
	Images func() []string
	// Watch, when set, returns a channel that receives a value whenever
	// job jobID changes, and a function that ends the watch: the job
	// page's live stream then re-reads the job only when it changed.
	// Wire lifecycle.Bus.WatchJob. Nil makes the stream poll the store.
	Watch httpx.WatchFunc
	// Streams caps the live streams per client address; nil caps none.
	Streams *httpx.Streams
	// Logger receives errors that are not the user's fault; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Server is the web interface. It is safe for concurrent use.
type Server struct {
	opt      Options
	log      *slog.Logger
	mux      *http.ServeMux
	pages    map[string]*template.Template
	static   map[string]string // file name -> version for cache busting
	keys     keys
	throttle *throttle
	pollInt  time.Duration
}

// New returns the web interface as an http.Handler. It fails only if the
// embedded templates are broken or the key is too short.
func New(opt Options) (*Server, error) {
	if opt.SiteName == "" {
		opt.SiteName = "builds"
	}
	opt.Origin = strings.TrimSuffix(opt.Origin, "/")
	if opt.Key == nil {
		opt.Key = make([]byte, 32)
		rand.Read(opt.Key)
	}
	k, err := deriveKeys(opt.Key)
	if err != nil {
		return nil, err
	}
	s := &Server{opt: opt, log: opt.Logger, keys: k, throttle: newThrottle(), pollInt: 250 * time.Millisecond}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.loadStatic(); err != nil {
		return nil, err
	}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "+
		"style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	s.mux.ServeHTTP(w, s.withUser(r))
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.handleIndex)
	m.HandleFunc("GET /static/{file}", s.handleStatic)
	s.authRoutes(m)
	s.jobRoutes(m)
	s.jobSettingsRoutes(m)
	m.HandleFunc("GET /submit", s.handleSubmitForm)
	m.HandleFunc("POST /submit", s.handleSubmit)
	m.HandleFunc("GET /secrets", s.handleSecrets)
	m.HandleFunc("POST /secrets", s.handleSecretCreate)
	m.HandleFunc("POST /secrets/{uuid}/delete", s.handleSecretDelete)
	m.HandleFunc("POST /secrets/{uuid}/share", s.handleSecretShare)
	for _, action := range []string{"delete", "share"} {
		for _, method := range []string{"GET", "POST"} {
			m.HandleFunc(method+" /secret/"+action+"/{uuid}", s.handleOldSecretURL(action))
		}
	}
	m.HandleFunc("GET /settings", s.handleSettings)
	m.HandleFunc("POST /settings/tokens", s.handleTokenCreate)
	m.HandleFunc("POST /settings/tokens/{id}/revoke", s.handleTokenRevoke)
	m.HandleFunc("POST /settings/ssh-keys", s.handleSSHKeyAdd)
	m.HandleFunc("POST /settings/ssh-keys/{id}/delete", s.handleSSHKeyDelete)
	m.HandleFunc("POST /settings/password", s.handlePasswordChange)
	m.HandleFunc("POST /settings/sessions/end", s.handleSignOutEverywhere)
	m.HandleFunc("GET /admin", s.handleAdmin)
	m.HandleFunc("POST /admin/sessions/end", s.handleAdminEndSessions)
	m.HandleFunc("GET /{owner}", s.handleOwner)
	m.HandleFunc("GET /{owner}/{rest...}", s.handleOwnerPath)
	s.mux = m
}

// page is what every template gets.
type page struct {
	Site    string
	Title   string
	User    *build.User
	CSRF    string
	Path    string
	Refresh int // seconds; a <noscript> refresh while a job runs
	Data    any
}

// render executes the named page template with data. Errors while
// executing become a 500, since nothing was written yet.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	t := s.pages[name]
	if t == nil {
		s.fail(w, r, build.Errorf(build.EINTERNAL, "no template %q", name))
		return
	}
	p := s.newPage(w, r, title, data)
	if rp, ok := data.(interface{ refresh() int }); ok {
		p.Refresh = rp.refresh()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base", p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Server) newPage(w http.ResponseWriter, r *http.Request, title string, data any) *page {
	sess := s.session(w, r)
	return &page{
		Site:  s.opt.SiteName,
		Title: title,
		User:  userFrom(r.Context()),
		CSRF:  s.csrfToken(sess),
		Path:  r.URL.Path,
		Data:  data,
	}
}

// fail shows err to the user: its message for their mistakes, a generic
// text (and a log entry) for ours. Anonymous visitors asked to sign in are
// sent to the login page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := build.ErrorCode(err)
	if code == build.EUNAUTHORIZED && r.Method == http.MethodGet {
		http.Redirect(w, r, "/login?return="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	if code == build.EINTERNAL {
		s.log.Error("web request", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	status := httpx.HTTPStatus(code)
	s.render(w, r, status, "error", http.StatusText(status), map[string]any{
		"Status": status, "Message": build.ErrorMessage(err),
	})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, build.Errorf(build.ENOTFOUND, "There is nothing at this address."))
}

func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	switch {
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".js"):
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(name, ".svg"):
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	if r.URL.Query().Get("v") == s.static[name] {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	w.Write(b)
}
