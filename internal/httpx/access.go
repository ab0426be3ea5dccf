package httpx

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"

	"builds/internal/build"
	"builds/internal/store"
	"builds/internal/untrusted"
)

// Access decides who a log or artifact request speaks for and whether it
// may see a job. Its fields are set once before use.
type Access struct {
	Jobs interface {
		Job(ctx context.Context, id int64) (*build.Job, error)
	}
	Tokens store.Tokens
	// Session returns the user of a web session, or nil. May be nil.
	Session func(r *http.Request) *build.User
}

// User is the user a request speaks for: by its token, which must grant
// LOGS, or by its web session. Nil is anonymous.
func (a *Access) User(r *http.Request) *build.User {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, u, err := TokenUser(r.Context(), a.Tokens, h)
		if err != nil || !tok.Allows(build.ScopeLogs, false) {
			return nil
		}
		return u
	}
	if a.Session == nil {
		return nil
	}
	return a.Session(r)
}

// CanSeeJob applies the visibility rules to a log or artifact request.
func (a *Access) CanSeeJob(r *http.Request, jobID int64) bool {
	j, err := a.Jobs.Job(r.Context(), jobID)
	if err != nil {
		return false
	}
	var uid int64
	if u := a.User(r); u != nil {
		uid = u.ID
	}
	return j.VisibleTo(uid)
}

// Artifacts serves /artifacts/{job}/{name} from dir/<job>/<name> to the
// requests allow admits; every other request gets 404, so that private
// jobs' artifacts are not even confirmed to exist.
func Artifacts(dir string, allow func(r *http.Request, jobID int64) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("job"), 10, 64)
		name := r.PathValue("name")
		if err != nil || id < 1 || dir == "" || !untrusted.ValidName(name) || !allow(r, id) {
			http.NotFound(w, r)
			return
		}
		untrusted.ServeArtifact(w, r, filepath.Join(dir, strconv.FormatInt(id, 10)), name)
	})
}
