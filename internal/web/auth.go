package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
// it; the store remembers that it was used until it expires, so it works
// once even across restarts and with several masters.
func LoginLink(key []byte, origin string, user *build.User, ttl time.Duration) (string, error) {
	k, err := deriveKeys(key)
	if err != nil {
		return "", err
	}
	payload := fmt.Sprintf("%d:%d:%s", user.ID, time.Now().Add(ttl).Unix(), randomString(12))
	return strings.TrimSuffix(origin, "/") + "/login/link?t=" + signed(k.link, payload), nil
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
	acct, addr := "user:"+strings.ToLower(d.Name), clientAddress(r)
	if wait := max(s.throttle.wait(acct, accountFailures), s.throttle.wait(addr, addressFailures)); wait > 0 {
		s.refuseLogin(w, r, d, wait)
		return
	}
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
		s.throttle.fail(acct, accountFailures)
		s.throttle.fail(addr, addressFailures)
		d.Error = "Unknown user name or wrong password."
		s.render(w, r, http.StatusUnauthorized, "login", "Sign in", d)
		return
	}
	s.throttle.reset(acct)
	if err := s.startSession(r.Context(), w, u); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, d.Return, http.StatusSeeOther)
}

// refuseLogin answers a throttled sign-in with 429, Retry-After and a
// message saying when to try again; the password is not even checked.
func (s *Server) refuseLogin(w http.ResponseWriter, r *http.Request, d loginData, wait time.Duration) {
	secs := int(wait.Round(time.Second) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	d.Error = fmt.Sprintf("Too many failed sign-ins for this account or from this address. "+
		"Try again in %s (at %s UTC), or ask an administrator for a sign-in link.",
		roundWait(wait), time.Now().Add(wait).UTC().Format("15:04"))
	s.render(w, r, http.StatusTooManyRequests, "login", "Sign in", d)
}

func roundWait(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", max(int(d/time.Second), 1))
	}
	m := int((d + time.Minute - 1) / time.Minute)
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, _ *build.User) {
	if err := s.endSession(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// localReturn keeps only paths on this site, so the login form cannot be
// used to send people elsewhere. Browsers ignore tabs and newlines in URLs
// and read a backslash as a slash, so "/\t/evil.example" and "/\\evil"
// would leave the site: anything but printable ASCII, any backslash, and
// anything with a scheme or host is refused.
func localReturn(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || len(p) > 2048 {
		return "/"
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
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
	if !ok {
		s.fail(w, r, errBadLink)
		return
	}
	first, err := s.opt.Store.UseLoginLink(r.Context(), nonce, exp)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !first {
		s.fail(w, r, errBadLink)
		return
	}
	u, err := s.opt.Store.UserByID(r.Context(), uid)
	if err != nil {
		s.fail(w, r, errBadLink)
		return
	}
	if err := s.startSession(r.Context(), w, u); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
