package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"builds/internal/build"
)

// A session lives in a signed cookie. Anonymous sessions (which only carry
// the CSRF nonce) keep nothing on the server; a signed-in session is valid
// only while the store holds the hash of its nonce, so that logging out, a
// password change or an administrator ends it at once, on every master.
const (
	sessionCookie = "builds_session"
	sessionTTL    = 30 * 24 * time.Hour
)

// keys are the purpose-bound keys derived from Options.Key, so that a
// signature made for one purpose is never accepted for another.
type keys struct {
	session, csrf, link []byte
}

func deriveKeys(master []byte) (keys, error) {
	if len(master) < 32 {
		return keys{}, build.Errorf(build.EINVALID, "web: the signing key is %d bytes; it must be at least 32", len(master))
	}
	sub := func(purpose string) []byte {
		m := hmac.New(sha256.New, master)
		m.Write([]byte("builds web " + purpose))
		return m.Sum(nil)
	}
	return keys{session: sub("session"), csrf: sub("csrf"), link: sub("login link")}, nil
}

func sign(key []byte, payload string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// signed returns payload.signature.
func signed(key []byte, payload string) string { return payload + "." + sign(key, payload) }

// verify returns the payload of a value made by signed, or false.
func verify(key []byte, value string) (string, bool) {
	i := strings.LastIndexByte(value, '.')
	if i < 0 {
		return "", false
	}
	payload, sig := value[:i], value[i+1:]
	want := sign(key, payload)
	if subtle.ConstantTimeCompare([]byte(sig), []byte(want)) != 1 {
		return "", false
	}
	return payload, true
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// session is the content of the session cookie. Anonymous visitors get one
// too (UserID 0) so that the login form has a CSRF token.
type session struct {
	UserID  int64
	Nonce   string // random; CSRF tokens are derived from it
	Expires time.Time
}

func (s session) encode() string {
	return fmt.Sprintf("%d:%d:%s", s.UserID, s.Expires.Unix(), s.Nonce)
}

func decodeSession(payload string) (session, bool) {
	parts := strings.SplitN(payload, ":", 3)
	if len(parts) != 3 || parts[2] == "" {
		return session{}, false
	}
	uid, err1 := strconv.ParseInt(parts[0], 10, 64)
	exp, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || uid < 0 {
		return session{}, false
	}
	return session{UserID: uid, Expires: time.Unix(exp, 0), Nonce: parts[2]}, true
}

type ctxKey int

const (
	userKey ctxKey = iota
	sessionKey
)

// userFrom returns the signed-in user of a request handled by the Server,
// or nil.
func userFrom(ctx context.Context) *build.User {
	u, _ := ctx.Value(userKey).(*build.User)
	return u
}

// readSession returns the request's valid session, if any.
func (s *Server) readSession(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	payload, ok := verify(s.keys.session, c.Value)
	if !ok {
		return session{}, false
	}
	sess, ok := decodeSession(payload)
	if !ok || time.Now().After(sess.Expires) {
		return session{}, false
	}
	return sess, true
}

// sessionHash is what the store keeps of a signed-in session's nonce.
func sessionHash(nonce string) []byte {
	h := sha256.Sum256([]byte("builds session " + nonce))
	return h[:]
}

// withUser loads the session's user into the request context. A session
// the store no longer holds (ended, expired) continues as anonymous, so
// that its CSRF token still works on the login form.
func (s *Server) withUser(r *http.Request) *http.Request {
	sess, ok := s.readSession(r)
	if !ok {
		return r
	}
	ctx := r.Context()
	if sess.UserID != 0 {
		u, err := s.opt.Store.SessionUser(ctx, sessionHash(sess.Nonce))
		switch {
		case err == nil && u.ID == sess.UserID:
			ctx = context.WithValue(ctx, userKey, u)
		case err == nil || build.ErrorCode(err) == build.ENOTFOUND:
			sess.UserID = 0
		default:
			s.log.Error("load session user", "user", sess.UserID, "err", err)
			sess.UserID = 0
		}
	}
	return r.WithContext(context.WithValue(ctx, sessionKey, sess))
}

// session returns the request's session, starting an anonymous one (and
// setting its cookie) when there is none, so that forms can carry a CSRF
// token.
func (s *Server) session(w http.ResponseWriter, r *http.Request) session {
	if sess, ok := r.Context().Value(sessionKey).(session); ok {
		return sess
	}
	sess := session{Nonce: randomString(18), Expires: time.Now().Add(sessionTTL)}
	s.setSession(w, sess)
	return sess
}

func (s *Server) setSession(w http.ResponseWriter, sess session) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    signed(s.keys.session, sess.encode()),
		Path:     "/",
		Expires:  sess.Expires,
		HttpOnly: true,
		Secure:   strings.HasPrefix(s.opt.Origin, "https://"),
		SameSite: http.SameSiteLaxMode,
	})
}

// startSession signs user in with a fresh nonce, so that a CSRF token seen
// before login is worthless after it, and records the session in the
// store.
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, user *build.User) error {
	sess := session{UserID: user.ID, Nonce: randomString(18), Expires: time.Now().Add(sessionTTL)}
	if err := s.opt.Store.CreateSession(ctx, sessionHash(sess.Nonce), user.ID, sess.Expires); err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	s.setSession(w, sess)
	return nil
}

// endSession ends the request's session in the store and clears the
// cookie.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) error {
	if sess, ok := s.readSession(r); ok && sess.UserID != 0 {
		if err := s.opt.Store.DeleteSession(r.Context(), sessionHash(sess.Nonce)); err != nil {
			return fmt.Errorf("end session: %w", err)
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: strings.HasPrefix(s.opt.Origin, "https://"), SameSite: http.SameSiteLaxMode,
	})
	return nil
}

func (s *Server) csrfToken(sess session) string { return sign(s.keys.csrf, sess.Nonce) }

// checkCSRF reports whether a POST carries the token of its session.
func (s *Server) checkCSRF(r *http.Request) bool {
	sess, ok := r.Context().Value(sessionKey).(session)
	if !ok {
		return false
	}
	got := r.PostFormValue("csrf")
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.csrfToken(sess))) == 1
}

// post wraps a form handler: it requires a valid CSRF token and, unless
// anon is set, a signed-in user.
func (s *Server) post(anon bool, h func(w http.ResponseWriter, r *http.Request, u *build.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<20)
		if !s.checkCSRF(r) {
			s.fail(w, r, build.Errorf(build.EFORBIDDEN,
				"This form has expired or did not come from this site. Go back, reload the page and try again."))
			return
		}
		u := userFrom(r.Context())
		if u == nil && !anon {
			s.fail(w, r, build.Errorf(build.EUNAUTHORIZED, "Sign in first."))
			return
		}
		h(w, r, u)
	}
}

// signedIn wraps a page that needs a signed-in user.
func (s *Server) signedIn(h func(w http.ResponseWriter, r *http.Request, u *build.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u := userFrom(r.Context())
		if u == nil {
			s.fail(w, r, build.Errorf(build.EUNAUTHORIZED, "Sign in first."))
			return
		}
		h(w, r, u)
	}
}
