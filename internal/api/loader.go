package api

import (
	"context"
	"fmt"
	"sync"

	"builds/internal/build"
)

// loader caches users and jobs for the length of one GraphQL request, so
// that a list of jobs by one owner reads that owner once. gqlgen resolves
// fields concurrently, hence the lock.
type loader struct {
	mu    sync.Mutex
	users map[int64]*build.User
	jobs  map[int64]*build.Job
}

func (l *loader) user(id int64) (*build.User, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u, ok := l.users[id]
	return u, ok
}

func (l *loader) putUser(u *build.User) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.users == nil {
		l.users = make(map[int64]*build.User)
	}
	l.users[u.ID] = u
}

func (l *loader) job(id int64) (*build.Job, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	j, ok := l.jobs[id]
	return j, ok
}

func (l *loader) putJob(j *build.Job) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.jobs == nil {
		l.jobs = make(map[int64]*build.Job)
	}
	l.jobs[j.ID] = j
}

// loaderFrom returns the request's loader, or a fresh one when the
// request has none (outside the HTTP handler).
func loaderFrom(ctx context.Context) *loader {
	if st := stateFrom(ctx); st != nil {
		return &st.loader
	}
	return &loader{}
}

// userByID returns a user through the request's cache.
func (r *Resolver) userByID(ctx context.Context, id int64) (*build.User, error) {
	l := loaderFrom(ctx)
	if u, ok := l.user(id); ok {
		return u, nil
	}
	if me := UserFromContext(ctx); me != nil && me.ID == id {
		return me, nil
	}
	u, err := r.opts.Store.UserByID(ctx, id)
	if err != nil {
		if build.ErrorCode(err) == build.ENOTFOUND {
			return nil, build.Errorf(build.ENOTFOUND, "no user with ID %d", id)
		}
		return nil, fmt.Errorf("read user %d: %w", id, err)
	}
	l.putUser(u)
	return u, nil
}

// jobByID returns a job the caller may see, through the request's cache.
func (r *Resolver) jobByID(ctx context.Context, id int64) (*build.Job, error) {
	l := loaderFrom(ctx)
	if j, ok := l.job(id); ok {
		return j, nil
	}
	j, err := r.opts.Submit.Job(ctx, UserFromContext(ctx), id)
	if err != nil {
		return nil, err
	}
	l.putJob(j)
	return j, nil
}

// remember caches jobs a listing returned so that their tasks can find
// them again.
func remember(ctx context.Context, jobs ...*build.Job) {
	l := loaderFrom(ctx)
	for _, j := range jobs {
		l.putJob(j)
	}
}
