package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"builds/internal/build"
)

type settingsView struct {
	Tokens   []*build.Token
	Keys     []*build.SSHPublicKey
	NewToken string // shown once, right after creation
	Error    string
	Notice   string
	Scopes   []build.Scope
}

func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request) {
	s.signedIn(func(w http.ResponseWriter, r *http.Request, u *build.User) {
		s.renderSettings(w, r, u, http.StatusOK, &settingsView{})
	})(w, r)
}

func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, u *build.User, status int, v *settingsView) {
	var err error
	if v.Tokens, err = s.opt.Store.ListTokens(r.Context(), u.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	if v.Keys, err = s.opt.Store.ListSSHKeys(r.Context(), u.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	v.Scopes = build.AllScopes
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "settings", "Settings", v)
}

// grantsFromForm reads one "RO", "RW" or "" (none) choice per scope.
func grantsFromForm(r *http.Request) []build.Grant {
	var gs []build.Grant
	for _, sc := range build.AllScopes {
		switch r.PostFormValue("scope-" + string(sc)) {
		case "RW":
			gs = append(gs, build.Grant{Scope: sc, Write: true})
		case "RO":
			gs = append(gs, build.Grant{Scope: sc})
		}
	}
	return gs
}

func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	s.post(false, func(w http.ResponseWriter, r *http.Request, u *build.User) {
		v := &settingsView{}
		t := &build.Token{UserID: u.ID, Name: strings.TrimSpace(r.PostFormValue("name")), Grants: grantsFromForm(r)}
		if days, _ := strconv.Atoi(r.PostFormValue("expires")); days > 0 {
			t.Expires = time.Now().Add(time.Duration(days) * 24 * time.Hour).UTC()
		}
		switch {
		case s.opt.NewToken == nil:
			v.Error = "Personal access tokens are not available on this service."
		case len(t.Grants) == 0:
			v.Error = "Choose at least one scope for the token."
		case len(t.Name) > 256:
			v.Error = "The token's name is too long: use at most 256 characters."
		}
		if v.Error != "" {
			s.renderSettings(w, r, u, http.StatusBadRequest, v)
			return
		}
		value, hash, err := s.opt.NewToken()
		if err == nil {
			err = s.opt.Store.CreateToken(r.Context(), t, hash)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v.NewToken = value
		s.renderSettings(w, r, u, http.StatusOK, v)
	})(w, r)
}

func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) {
	s.post(false, func(w http.ResponseWriter, r *http.Request, u *build.User) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err := s.opt.Store.RevokeToken(r.Context(), u.ID, id); err != nil {
			s.fail(w, r, err)
			return
		}
		s.renderSettings(w, r, u, http.StatusOK, &settingsView{Notice: "Token revoked."})
	})(w, r)
}

func (s *Server) handleSSHKeyAdd(w http.ResponseWriter, r *http.Request) {
	s.post(false, func(w http.ResponseWriter, r *http.Request, u *build.User) {
		v := &settingsView{}
		pub, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(r.PostFormValue("key"))))
		if err != nil {
			v.Error = "That is not an SSH public key. Paste one line such as the content of ~/.ssh/id_ed25519.pub."
			s.renderSettings(w, r, u, http.StatusBadRequest, v)
			return
		}
		k := &build.SSHPublicKey{UserID: u.ID, Fingerprint: ssh.FingerprintSHA256(pub),
			Key: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))), Comment: comment}
		if err := s.opt.Store.AddSSHKey(r.Context(), k); err != nil {
			if build.ErrorCode(err) != build.ECONFLICT {
				s.fail(w, r, err)
				return
			}
			v.Error = "You have added this key already."
			s.renderSettings(w, r, u, http.StatusConflict, v)
			return
		}
		v.Notice = "SSH key " + k.Fingerprint + " added."
		s.renderSettings(w, r, u, http.StatusOK, v)
	})(w, r)
}

func (s *Server) handleSSHKeyDelete(w http.ResponseWriter, r *http.Request) {
	s.post(false, func(w http.ResponseWriter, r *http.Request, u *build.User) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err := s.opt.Store.DeleteSSHKey(r.Context(), u.ID, id); err != nil {
			s.fail(w, r, err)
			return
		}
		s.renderSettings(w, r, u, http.StatusOK, &settingsView{Notice: "SSH key deleted."})
	})(w, r)
}
