package web

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"builds/internal/build"
	"builds/internal/httpx"
	"builds/internal/store"
	"builds/internal/submit"
)

type secretsView struct {
	Secrets []*build.Secret
	Next    string
	Error   string
	Notice  string
	// Form values kept after an error; the secret's value never is.
	Name, Kind, Path, Mode, UUID string
}

func (s *Server) handleSecrets(w http.ResponseWriter, r *http.Request) {
	s.signedIn(func(w http.ResponseWriter, r *http.Request, u *build.User) {
		s.renderSecrets(w, r, u, http.StatusOK, &secretsView{Kind: string(build.SecretSSHKey), Mode: "600"})
	})(w, r)
}

func (s *Server) renderSecrets(w http.ResponseWriter, r *http.Request, u *build.User, status int, v *secretsView) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	list, next, err := s.opt.Submit.Secrets(r.Context(), u, before, 50)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Secrets = list
	if next != 0 {
		v.Next = fmt.Sprintf("/secrets?before=%d", next)
	}
	s.render(w, r, status, "secrets", "Secrets", v)
}

func (s *Server) handleSecretCreate(w http.ResponseWriter, r *http.Request) {
	s.post(false, s.createSecret)(w, r)
}

func (s *Server) createSecret(w http.ResponseWriter, r *http.Request, u *build.User) {
	v := &secretsView{
		Name: strings.TrimSpace(r.PostFormValue("name")), Kind: r.PostFormValue("kind"),
		Path: strings.TrimSpace(r.PostFormValue("path")), Mode: strings.TrimSpace(r.PostFormValue("mode")),
		UUID: strings.TrimSpace(r.PostFormValue("uuid")),
	}
	data, err := secretData(r)
	if err != nil {
		v.Error = err.Error()
		s.renderSecrets(w, r, u, http.StatusBadRequest, v)
		return
	}
	in := submit.SecretInput{UUID: v.UUID, Name: v.Name, Kind: build.SecretKind(v.Kind), Path: v.Path, Data: data}
	if in.Kind == build.SecretFile {
		mode, err := strconv.ParseInt(v.Mode, 8, 32)
		if err != nil {
			v.Error = "The file mode must be octal, such as 600 or 644."
			s.renderSecrets(w, r, u, http.StatusBadRequest, v)
			return
		}
		in.Mode = int(mode)
	}
	sec, err := s.opt.Submit.CreateSecret(r.Context(), u, in)
	if err != nil {
		if c := build.ErrorCode(err); c != build.EINVALID && c != build.ECONFLICT {
			s.fail(w, r, err)
			return
		}
		v.Error = build.ErrorMessage(err)
		s.renderSecrets(w, r, u, httpx.HTTPStatus(build.ErrorCode(err)), v)
		return
	}
	s.renderSecrets(w, r, u, http.StatusOK, &secretsView{Kind: v.Kind, Mode: "600",
		Notice: "Secret " + sec.UUID + " added. Its value will not be shown again."})
}

// secretData takes the secret's value from the uploaded file, or else
// from the text box. Browsers send text with CRLF line ends; keys need LF.
func secretData(r *http.Request) ([]byte, error) {
	if f, _, err := r.FormFile("file"); err == nil {
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, submit.MaxSecretSize+1))
		if err != nil {
			return nil, fmt.Errorf("The upload failed; try again.")
		}
		if len(b) > 0 {
			return b, nil
		}
	}
	text := strings.ReplaceAll(r.PostFormValue("data"), "\r\n", "\n")
	if text != "" && !strings.HasSuffix(text, "\n") && r.PostFormValue("kind") != string(build.SecretFile) {
		text += "\n"
	}
	return []byte(text), nil
}

func (s *Server) handleSecretDelete(w http.ResponseWriter, r *http.Request) {
	s.post(false, func(w http.ResponseWriter, r *http.Request, u *build.User) {
		uuid := r.PathValue("uuid")
		if err := s.opt.Store.DeleteSecret(r.Context(), u.ID, uuid); err != nil {
			s.fail(w, r, err)
			return
		}
		s.renderSecrets(w, r, u, http.StatusOK, &secretsView{Kind: string(build.SecretSSHKey), Mode: "600",
			Notice: "Secret " + uuid + " deleted."})
	})(w, r)
}

func (s *Server) handleSecretShare(w http.ResponseWriter, r *http.Request) {
	s.post(false, func(w http.ResponseWriter, r *http.Request, u *build.User) {
		to := strings.TrimSpace(r.PostFormValue("user"))
		v := &secretsView{Kind: string(build.SecretSSHKey), Mode: "600"}
		cp, err := s.opt.Submit.ShareSecret(r.Context(), u, r.PathValue("uuid"), to)
		if err != nil {
			if build.ErrorCode(err) == build.EINTERNAL {
				s.fail(w, r, err)
				return
			}
			v.Error = build.ErrorMessage(err)
			s.renderSecrets(w, r, u, httpx.HTTPStatus(build.ErrorCode(err)), v)
			return
		}
		v.Notice = fmt.Sprintf("Shared with ~%s as %s (%s); their own secrets keep their names.", strings.TrimPrefix(to, "~"), cp.Name, cp.UUID)
		s.renderSecrets(w, r, u, http.StatusOK, v)
	})(w, r)
}

// handleOldSecretURL sends builds.sr.ht's secret URLs
// (/secret/delete/UUID, /secret/share/UUID) to ours: a POST keeps its
// method and form at /secrets/UUID/delete or /share (307), anything else
// goes to the secrets page, where each secret has both buttons.
func (s *Server) handleOldSecretURL(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		uuid := r.PathValue("uuid")
		if !store.IsUUID(uuid) {
			http.NotFound(w, r)
			return
		}
		if r.Method == http.MethodPost {
			http.Redirect(w, r, "/secrets/"+uuid+"/"+action, http.StatusTemporaryRedirect)
			return
		}
		http.Redirect(w, r, "/secrets#"+uuid, http.StatusFound)
	}
}
