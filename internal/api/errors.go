package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"builds/internal/build"
	"builds/internal/httpx"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// HTTPStatus is httpx.HTTPStatus, the one mapping of error codes to HTTP
// statuses.
func HTTPStatus(code string) int { return httpx.HTTPStatus(code) }

// errorBody is the JSON shape of every error response, GraphQL's own: the
// REST API uses it too, so a client has one shape to read.
type errorBody struct {
	Errors []errorItem `json:"errors"`
}

// errorItem is one error of an answer. It carries both the GraphQL shape
// (message, extensions.code) and the one builds.sr.ht's legacy REST API
// uses (reason, and field when the error concerns one input field), so
// clients of either read it.
type errorItem struct {
	Message    string         `json:"message"`
	Reason     string         `json:"reason"`
	Field      string         `json:"field,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// fieldError ties an error to the request field it concerns.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// inField marks err (when not nil) as concerning the request field field.
func inField(field string, err error) error {
	if err == nil {
		return nil
	}
	return &fieldError{field: field, err: err}
}

// writeError answers with err's status and message. Internal errors are
// logged and reported without their details.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := build.ErrorCode(err)
	if code == build.EINTERNAL {
		s.opts.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	field := ""
	var fe *fieldError
	if errors.As(err, &fe) {
		field = fe.field
	}
	writeFieldError(w, HTTPStatus(code), code, field, build.ErrorMessage(err))
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	writeFieldError(w, status, code, "", msg)
}

func writeFieldError(w http.ResponseWriter, status int, code, field, msg string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="builds"`)
	}
	body := errorBody{Errors: []errorItem{{Message: msg, Reason: msg, Field: field, Extensions: map[string]any{"code": code}}}}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing to do
}

// presentError turns a resolver's error into a GraphQL error: domain
// errors keep their message and carry their code in extensions.code;
// anything else is logged and shown as "internal error".
func (s *server) presentError(ctx context.Context, err error) *gqlerror.Error {
	gqlErr := graphql.DefaultErrorPresenter(ctx, err)
	var domain *build.Error
	switch {
	case errors.As(err, &domain):
		gqlErr.Message = build.ErrorMessage(err)
		gqlErr.Extensions = map[string]any{"code": domain.Code}
		if domain.Code == build.EUNAUTHORIZED {
			if st := stateFrom(ctx); st != nil {
				st.unauthorized.Store(true)
			}
		}
	case gqlErr.Err != nil && !isInputError(gqlErr.Err):
		s.opts.Logger.Error("graphql resolver failed", "path", gqlErr.Path.String(), "err", err)
		gqlErr.Message = "internal error"
		gqlErr.Extensions = map[string]any{"code": build.EINTERNAL}
	}
	return gqlErr
}

// isInputError reports whether err comes from gqlgen decoding arguments,
// whose messages describe the caller's mistake.
func isInputError(err error) bool {
	var gqlErr *gqlerror.Error
	return errors.As(err, &gqlErr)
}

func (s *server) recoverPanic(ctx context.Context, p any) error {
	s.opts.Logger.Error("graphql resolver panicked", "panic", p)
	return fmt.Errorf("panic: %v", p)
}

// requestState is per-request state the GraphQL layer reports back to
// the HTTP layer.
type requestState struct {
	unauthorized atomic.Bool
	loader       loader
}

type stateKey struct{}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}

// statusFromErrors answers 401 instead of 200 when a GraphQL request
// failed for lack of credentials, so that clients see the usual signal.
func (s *server) statusFromErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBody)
		st := &requestState{}
		ctx := context.WithValue(r.Context(), stateKey{}, st)
		next.ServeHTTP(&statusWriter{ResponseWriter: w, st: st}, r.WithContext(ctx))
	})
}

// statusWriter rewrites a 200 to a 401 when the request was refused for
// lack of credentials.
type statusWriter struct {
	http.ResponseWriter
	st      *requestState
	written bool
}

func (w *statusWriter) WriteHeader(status int) {
	if w.written {
		return
	}
	w.written = true
	if status == http.StatusOK && w.st.unauthorized.Load() {
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="builds"`)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}
