package web

import (
	"net/http"

	"builds/internal/build"
	"builds/internal/store"
)

type adminView struct {
	Runners    []RunnerInfo
	QueueDepth int
	Running    []*build.Job
	Configured bool
	Notice     string
}

// handleAdmin shows administrators the runners, what they run and how
// many jobs wait. Everyone else gets a 404, as if there were no such page.
func (s *Server) handleAdmin(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r.Context())
	if u == nil || !u.Admin {
		s.notFound(w, r)
		return
	}
	s.renderAdmin(w, r, "")
}

func (s *Server) renderAdmin(w http.ResponseWriter, r *http.Request, notice string) {
	v := &adminView{Notice: notice}
	if s.opt.Admin != nil {
		v.Configured = true
		v.Runners = s.opt.Admin.Runners(r.Context())
		v.QueueDepth = s.opt.Admin.QueueDepth(r.Context())
	}
	jobs, _, err := s.opt.Store.ListJobs(r.Context(), store.JobFilter{Status: []build.JobStatus{build.JobRunning}, Limit: 100})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Running = jobs
	s.render(w, r, http.StatusOK, "admin", "Admin", v)
}
