package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"builds/internal/build"
)

// MinPasswordLength is the shortest password HashPassword accepts.
const MinPasswordLength = 8

// HashPassword returns the bcrypt hash of a new password, for
// store.Users.SetPassword. A password that is too short is EINVALID.
func HashPassword(password string) ([]byte, error) {
	if len(password) < MinPasswordLength {
		return nil, build.Errorf(build.EINVALID, "the password is too short: use at least %d characters", MinPasswordLength)
	}
	if len(password) > 72 {
		return nil, build.Errorf(build.EINVALID, "the password is too long: bcrypt uses at most 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// dummyHash is compared against when the user does not exist, so that the
// answer takes as long as for a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such user, no such password"), bcrypt.DefaultCost)

// LoginLink returns an absolute URL that signs the named user in, once,
// within ttl. key must be the Options.Key of the serving web interface.
// The link carries its own signature, so another process (the CLI) can make
// it; that it is used only once is remembered by the serving process, which
// is why ttl should be short (minutes).
func LoginLink(key []byte, origin string, user *build.User, ttl time.Duration) (string, error) {
	k, err := deriveKeys(key)
	if err != nil {
		return "", err
	}
	payload := fmt.Sprintf("%d:%d:%s", user.ID, time.Now().Add(ttl).Unix(), randomString(12))
	return strings.TrimSuffix(origin, "/") + "/login/link?t=" + signed(k.link, payload), nil
}

// usedLinks remembers the login links already used until they expire.
type usedLinks struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func newUsedLinks() *usedLinks { return &usedLinks{seen: make(map[string]time.Time)} }

// use records nonce and reports whether it was new.
func (u *usedLinks) use(nonce string, expires time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now()
	for n, exp := range u.seen {
		if now.After(exp) {
			delete(u.seen, n)
		}
	}
	if _, ok := u.seen[nonce]; ok {
		return false
	}
	u.seen[nonce] = expires
	return true
}

func (s *Server) authRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /login", s.handleLoginForm)
	m.HandleFunc("POST /login", s.post(true, s.handleLogin))
	m.HandleFunc("POST /logout", s.post(true, s.handleLogout))
	m.HandleFunc("GET /login/link", s.handleLinkForm)
	m.HandleFunc("POST /login/link", s.post(true, s.handleLink))
}

type loginData struct {
	Name, Return, Error string
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", "Sign in", loginData{Return: localReturn(r.URL.Query().Get("return"))})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request, _ *build.User) {
	d := loginData{Name: strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("username")), "~"),
		Return: localReturn(r.PostFormValue("return"))}
	u, err := s.opt.Store.UserByName(r.Context(), d.Name)
	hash := dummyHash
	if err == nil {
		if h, herr := s.opt.Store.PasswordHash(r.Context(), u.ID); herr == nil && len(h) > 0 {
			hash = h
		}
	} else if build.ErrorCode(err) != build.ENOTFOUND {
		s.fail(w, r, err)
		return
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(r.PostFormValue("password"))) != nil || u == nil {
		d.Error = "Unknown user name or wrong password."
		s.render(w, r, http.StatusUnauthorized, "login", "Sign in", d)
		return
	}
	s.startSession(w, u)
	http.Redirect(w, r, d.Return, http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, _ *build.User) {
	s.endSession(w)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// localReturn keeps only same-site paths, so the login form cannot be used
// to send people elsewhere.
func localReturn(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}

// parseLink checks a login link token and returns its user ID, expiry and
// nonce.
func (s *Server) parseLink(token string) (int64, time.Time, string, bool) {
	payload, ok := verify(s.keys.link, token)
	if !ok {
		return 0, time.Time{}, "", false
	}
	parts := strings.SplitN(payload, ":", 3)
	if len(parts) != 3 {
		return 0, time.Time{}, "", false
	}
	uid, err1 := strconv.ParseInt(parts[0], 10, 64)
	exp, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || time.Now().Unix() > exp {
		return 0, time.Time{}, "", false
	}
	return uid, time.Unix(exp, 0), parts[2], true
}

var errBadLink = build.Errorf(build.EINVALID,
	"This sign-in link is invalid, expired or already used. Ask for a new one with 'builds user login-link NAME'.")

// handleLinkForm asks for a click before using the link: link previews and
// mail scanners fetch URLs, and must not use up the link.
func (s *Server) handleLinkForm(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("t")
	uid, _, _, ok := s.parseLink(tok)
	if !ok {
		s.fail(w, r, errBadLink)
		return
	}
	u, err := s.opt.Store.UserByID(r.Context(), uid)
	if err != nil {
		s.fail(w, r, errBadLink)
		return
	}
	s.render(w, r, http.StatusOK, "link", "Sign in", map[string]any{"Token": tok, "Name": u.Name})
}

func (s *Server) handleLink(w http.ResponseWriter, r *http.Request, _ *build.User) {
	uid, exp, nonce, ok := s.parseLink(r.PostFormValue("t"))
	if !ok || !s.used.use(nonce, exp) {
		s.fail(w, r, errBadLink)
		return
	}
	u, err := s.opt.Store.UserByID(r.Context(), uid)
	if err != nil {
		s.fail(w, r, errBadLink)
		return
	}
	s.startSession(w, u)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
