package httpx

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
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
