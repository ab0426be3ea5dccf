package web

import (
	"net/http"
	"strconv"

	"builds/internal/build"
)

// jobSettingsView is the job settings page, at the address builds.sr.ht
// gives it (/~owner/job/ID/settings/details).
type jobSettingsView struct {
	Job    *build.Job
	Notice string
}

// jobSettingsRoutes mounts the job settings page; only the owner sees it.
func (s *Server) jobSettingsRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /{owner}/job/{id}/settings/details", s.signedIn(s.handleJobSettings))
	m.HandleFunc("POST /{owner}/job/{id}/settings/details", s.post(false, s.handleJobSettingsSave))
}

// ownedJob is the job of the request if u owns it; others get the error
// to show (not found for those who cannot see the job).
func (s *Server) ownedJob(r *http.Request, u *build.User) (*build.Job, error) {
	j, err := s.visibleJob(r)
	if err != nil {
		return nil, err
	}
	if j.OwnerID != u.ID {
		return nil, build.Errorf(build.EFORBIDDEN, "Only the job's owner can change its settings.")
	}
	return j, nil
}

func (s *Server) handleJobSettings(w http.ResponseWriter, r *http.Request, u *build.User) {
	j, err := s.ownedJob(r, u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "jobsettings", "Job #"+strconv.FormatInt(j.ID, 10)+" settings", &jobSettingsView{Job: j})
}

func (s *Server) handleJobSettingsSave(w http.ResponseWriter, r *http.Request, u *build.User) {
	j, err := s.ownedJob(r, u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	j, err = s.opt.Submit.SetVisibility(r.Context(), u, j.ID, build.Visibility(r.PostFormValue("visibility")))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "jobsettings", "Job #"+strconv.FormatInt(j.ID, 10)+" settings",
		&jobSettingsView{Job: j, Notice: "Visibility set to " + string(j.Visibility) + "."})
}
