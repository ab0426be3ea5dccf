package api

import (
	"context"
	"net/http"

	"builds/internal/build"
	"builds/internal/httpx"
	"builds/internal/store"
)

// TokenPrefix starts every personal access token (see httpx.TokenPrefix).
const TokenPrefix = httpx.TokenPrefix

// NewToken is httpx.NewToken.
func NewToken() (value string, hash []byte, err error) { return httpx.NewToken() }

// HashToken is httpx.HashToken.
func HashToken(value string) []byte { return httpx.HashToken(value) }

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

// TokenUser is httpx.TokenUser: handlers mounted beside the API (logs,
// artifacts) use it so that tokens mean the same everywhere.
func TokenUser(ctx context.Context, st store.Tokens, header string) (*build.Token, *build.User, error) {
	return httpx.TokenUser(ctx, st, header)
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
