package web

import (
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"builds/internal/build"
)

// handlePasswordChange sets a new password after checking the current one
// (or with none set yet). The store ends every session of the user with
// it, so a stolen cookie stops working; this browser gets a new session.
func (s *Server) handlePasswordChange(w http.ResponseWriter, r *http.Request) {
	s.post(false, func(w http.ResponseWriter, r *http.Request, u *build.User) {
		v := &settingsView{}
		old, err := s.opt.Store.PasswordHash(r.Context(), u.ID)
		if err != nil && build.ErrorCode(err) != build.ENOTFOUND {
			s.fail(w, r, err)
			return
		}
		next := r.PostFormValue("new")
		switch {
		case len(old) > 0 && bcrypt.CompareHashAndPassword(old, []byte(r.PostFormValue("current"))) != nil:
			v.Error = "The current password is wrong; the password was not changed."
		case next != r.PostFormValue("confirm"):
			v.Error = "The two new passwords differ; type the same one twice."
		}
		var hash []byte
		if v.Error == "" {
			if hash, err = HashPassword(next); err != nil {
				v.Error = "The new password was refused: " + build.ErrorMessage(err) + "."
			}
		}
		if v.Error != "" {
			s.renderSettings(w, r, u, http.StatusBadRequest, v)
			return
		}
		if err := s.opt.Store.SetPassword(r.Context(), u.ID, hash); err != nil {
			s.fail(w, r, err)
			return
		}
		if err := s.startSession(r.Context(), w, u); err != nil {
			s.fail(w, r, err)
			return
		}
		v.Notice = "Password changed. Every other session of your account was signed out."
		s.renderSettings(w, r, u, http.StatusOK, v)
	})(w, r)
}

// handleSignOutEverywhere ends every session of the user, this one
// included.
func (s *Server) handleSignOutEverywhere(w http.ResponseWriter, r *http.Request) {
	s.post(false, func(w http.ResponseWriter, r *http.Request, u *build.User) {
		if _, err := s.opt.Store.DeleteUserSessions(r.Context(), u.ID); err != nil {
			s.fail(w, r, err)
			return
		}
		if err := s.endSession(w, r); err != nil {
			s.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})(w, r)
}

// handleAdminEndSessions lets an administrator sign a user out of every
// browser (a lost laptop, a departing colleague). Others get a 404.
func (s *Server) handleAdminEndSessions(w http.ResponseWriter, r *http.Request) {
	s.post(false, func(w http.ResponseWriter, r *http.Request, u *build.User) {
		if !u.Admin {
			s.notFound(w, r)
			return
		}
		name := strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("user")), "~")
		target, err := s.opt.Store.UserByName(r.Context(), name)
		if err != nil {
			if build.ErrorCode(err) == build.ENOTFOUND {
				err = build.Errorf(build.ENOTFOUND, "There is no user ~%s; check the name.", name)
			}
			s.fail(w, r, err)
			return
		}
		n, err := s.opt.Store.DeleteUserSessions(r.Context(), target.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.renderAdmin(w, r, fmt.Sprintf("Ended %d session(s) of ~%s.", n, target.Name))
	})(w, r)
}
