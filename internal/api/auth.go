package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"builds/internal/build"
	"builds/internal/store"
)

// TokenPrefix starts every personal access token, so that a leaked one is
// easy to recognise (and to scan for).
const TokenPrefix = "bld_"

// NewToken returns a fresh token value to show its owner once, and the
// hash to store (store.Tokens keeps only hashes).
func NewToken() (value string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("make token: %w", err)
	}
	value = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return value, HashToken(value), nil
}

// HashToken returns the SHA-256 hash under which a token value is stored.
// The value has 256 random bits, so a fast hash suffices.
func HashToken(value string) []byte {
	sum := sha256.Sum256([]byte(value))
	return sum[:]
}

// caller is who made a request. Token is nil for anonymous requests and
// for ones the web UI makes on behalf of a logged-in user (full rights).
type caller struct {
	User  *build.User
	Token *build.Token
}

type callerKey struct{}

// WithUser returns a context in which user is the caller with every
// right, as for a logged-in web session. The web UI uses it to run API
// operations on a user's behalf.
func WithUser(ctx context.Context, user *build.User) context.Context {
	return context.WithValue(ctx, callerKey{}, &caller{User: user})
}

// withToken returns a context whose caller is limited to tok's grants.
func withToken(ctx context.Context, user *build.User, tok *build.Token) context.Context {
	return context.WithValue(ctx, callerKey{}, &caller{User: user, Token: tok})
}

// UserFromContext returns the authenticated user, or nil when the request
// is anonymous.
func UserFromContext(ctx context.Context) *build.User {
	if c := callerFrom(ctx); c != nil {
		return c.User
	}
	return nil
}

func callerFrom(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	return c
}

// allows reports whether the caller may use scope (with write access when
// write is set). Anonymous callers may read only; callers without a token
// (web sessions) may do anything.
func allows(ctx context.Context, scope build.Scope, write bool) error {
	c := callerFrom(ctx)
	if c == nil || c.User == nil {
		if write {
			return errAuthRequired
		}
		return nil
	}
	if c.Token != nil && !c.Token.Allows(scope, write) {
		g := build.Grant{Scope: scope, Write: write}
		return build.Errorf(build.EFORBIDDEN, "this token lacks the %s grant; create a token that includes it", g)
	}
	return nil
}

var errAuthRequired = build.Errorf(build.EUNAUTHORIZED,
	"authentication required: send 'Authorization: Bearer <token>' with a personal access token")

// authenticate resolves the Authorization header, if any, to a user. A
// request with a token that is malformed, unknown or expired is refused
// with 401 at once, whatever it asks for: its sender means to be
// somebody and should know that they are not.
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if callerFrom(r.Context()) != nil {
			next.ServeHTTP(w, r) // already authenticated by the web UI
			return
		}
		header := r.Header.Get("Authorization")
		if header == "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx, err := s.authorize(r.Context(), header)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// authorize checks an Authorization header value. "Bearer" is the scheme
// to use; "token" is accepted too, as builds.sr.ht's legacy API did.
func (s *server) authorize(ctx context.Context, header string) (context.Context, error) {
	tok, user, err := TokenUser(ctx, s.opts.Store, header)
	if err != nil {
		return nil, err
	}
	return withToken(ctx, user, tok), nil
}

// TokenUser checks an Authorization header value and returns its token and
// user. Errors are build.EUNAUTHORIZED with a message that says what to do,
// except for store failures. Handlers mounted beside the API (logs,
// artifacts) use it so that tokens mean the same everywhere.
func TokenUser(ctx context.Context, st store.Tokens, header string) (*build.Token, *build.User, error) {
	scheme, value, _ := strings.Cut(strings.TrimSpace(header), " ")
	if !strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "token") {
		return nil, nil, build.Errorf(build.EUNAUTHORIZED,
			"unsupported authorization scheme %q; send 'Authorization: Bearer <token>'", scheme)
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, nil, build.Errorf(build.EUNAUTHORIZED, "the Authorization header has no token after %q", scheme)
	}
	tok, user, err := st.TokenByHash(ctx, HashToken(value))
	if err != nil {
		if build.ErrorCode(err) == build.ENOTFOUND {
			return nil, nil, build.Errorf(build.EUNAUTHORIZED, "invalid or expired token; create a new one with 'builds token create'")
		}
		return nil, nil, fmt.Errorf("look up token: %w", err)
	}
	if !tok.Expires.IsZero() && time.Now().After(tok.Expires) {
		return nil, nil, build.Errorf(build.EUNAUTHORIZED, "the token %q expired on %s; create a new one with 'builds token create'",
			tok.Name, tok.Expires.UTC().Format(time.DateOnly))
	}
	return tok, user, nil
}

// RefuseBadTokens wraps a handler mounted beside the API (logs,
// artifacts): a request whose Authorization header holds no valid token is
// answered 401 with the API's error body, as the API itself answers it,
// instead of being served as anonymous. Requests without the header pass.
func RefuseBadTokens(st store.Tokens, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Authorization"); h != "" {
			if _, _, err := TokenUser(r.Context(), st, h); err != nil {
				code := build.ErrorCode(err)
				msg := build.ErrorMessage(err)
				if code == build.EINTERNAL {
					msg = "internal error"
				}
				writeJSONError(w, HTTPStatus(code), code, msg)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
