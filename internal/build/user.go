package build

import (
	"strings"
	"time"
)

// User is a local account.
type User struct {
	ID      int64
	Created time.Time
	Name    string
	Email   string
	Admin   bool
}

// Scope names a token's grant, as builds.sr.ht spells them.
type Scope string

// Scopes.
const (
	ScopeProfile Scope = "PROFILE"
	ScopeJobs    Scope = "JOBS"
	ScopeLogs    Scope = "LOGS"
	ScopeSecrets Scope = "SECRETS"
)

// AllScopes lists every scope.
var AllScopes = []Scope{ScopeProfile, ScopeJobs, ScopeLogs, ScopeSecrets}

// Grant is one scope with its access level, written "JOBS:RW" or "JOBS:RO".
type Grant struct {
	Scope Scope
	Write bool
}

func (g Grant) String() string {
	if g.Write {
		return string(g.Scope) + ":RW"
	}
	return string(g.Scope) + ":RO"
}

// ParseGrants parses a space- or comma-separated list of grants such as
// "JOBS:RW LOGS:RO". A bare scope means read-write; an empty string means
// every scope read-write. An optional "builds.sr.ht/" prefix is accepted.
func ParseGrants(s string) ([]Grant, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
	if len(fields) == 0 {
		all := make([]Grant, len(AllScopes))
		for i, sc := range AllScopes {
			all[i] = Grant{Scope: sc, Write: true}
		}
		return all, nil
	}
	var out []Grant
	for _, f := range fields {
		g, err := parseGrant(f)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

func parseGrant(f string) (Grant, error) {
	f = strings.TrimPrefix(f, "builds.sr.ht/")
	name, access, hasAccess := strings.Cut(f, ":")
	g := Grant{Scope: Scope(strings.ToUpper(name)), Write: true}
	if hasAccess {
		switch strings.ToUpper(access) {
		case "RW":
		case "RO":
			g.Write = false
		default:
			return g, Errorf(EINVALID, "grant %q: access must be RO or RW", f)
		}
	}
	for _, sc := range AllScopes {
		if g.Scope == sc {
			return g, nil
		}
	}
	return g, Errorf(EINVALID, "grant %q: unknown scope; valid scopes are PROFILE, JOBS, LOGS, SECRETS", f)
}

// FormatGrants is the inverse of ParseGrants.
func FormatGrants(gs []Grant) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = g.String()
	}
	return strings.Join(parts, " ")
}

// Token is a personal access token. Its secret value is shown once at
// creation and stored only as a hash.
type Token struct {
	ID       int64
	UserID   int64
	Created  time.Time
	Expires  time.Time // zero: never
	Name     string
	Grants   []Grant
	LastUsed time.Time
}

// Allows reports whether the token grants scope s, with write access when
// write is true.
func (t *Token) Allows(s Scope, write bool) bool {
	for _, g := range t.Grants {
		if g.Scope == s && (g.Write || !write) {
			return true
		}
	}
	return false
}
