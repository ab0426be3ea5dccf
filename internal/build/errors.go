// Package build is the domain core of the service: jobs, tasks, their
// statuses and transitions, users, tokens, secrets and triggers. It imports
// no database, HTTP, Redis or SSH package; adapters map to these types.
package build

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to exactly one HTTP status in internal/api.
const (
	EINVALID      = "invalid"      // the caller's input is wrong
	ENOTFOUND     = "not_found"    // no such thing, or the caller may not see it
	EUNAUTHORIZED = "unauthorized" // no or bad credentials
	EFORBIDDEN    = "forbidden"    // credentials lack a scope or right
	ECONFLICT     = "conflict"     // the thing is in a state that forbids this
	ELIMIT        = "limit"        // the request passes a bound on size, cost or time
	EINTERNAL     = "internal"     // our fault; details go to the log only
)

// Error is a domain error whose Message is safe to show to a user.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err: the Message of the
// first *Error in its chain, or a generic text for internal errors, whose
// details must not leak to users.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
