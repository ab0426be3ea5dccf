package submit

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"builds/internal/build"
	"builds/internal/store"
)

// MaxSecretSize is the largest secret accepted, in bytes.
const MaxSecretSize = 1 << 20

// MaxSecretNameSize is the longest secret name accepted, in bytes.
const MaxSecretNameSize = 512

// SecretInput is a secret to upload. Mode and Path matter for files only.
type SecretInput struct {
	// UUID, when set, is the UUID the secret keeps (e.g. the one it had on
	// builds.sr.ht, so that manifests listing it keep working); "" means a
	// new one.
	UUID string
	Name string
	Kind build.SecretKind
	Path string
	Mode int
	Data []byte
}

// CreateSecret stores a new secret of user. The returned secret carries no
// Data: its value is never shown again after upload.
func (s *Service) CreateSecret(ctx context.Context, user *build.User, in SecretInput) (*build.Secret, error) {
	if err := requireUser(user); err != nil {
		return nil, err
	}
	if err := checkSecret(in); err != nil {
		return nil, err
	}
	in.UUID = strings.ToLower(strings.TrimSpace(in.UUID))
	if in.UUID != "" && !store.IsUUID(in.UUID) {
		return nil, build.Errorf(build.EINVALID, "%q is not a UUID; give one such as 2a6ed1c4-7e4c-4b47-9d3f-8f9a2f4f1c2e, or none for a new one", in.UUID)
	}
	if err := s.uuidFree(ctx, user, in.UUID); err != nil {
		return nil, err
	}
	sec := &build.Secret{UUID: in.UUID, OwnerID: user.ID, Name: in.Name, Kind: in.Kind, Data: in.Data}
	if in.Kind == build.SecretFile {
		sec.Path, sec.Mode = in.Path, in.Mode
	}
	if err := s.Store.CreateSecret(ctx, sec); err != nil {
		if build.ErrorCode(err) != build.ECONFLICT {
			return nil, fmt.Errorf("store secret: %w", err)
		}
		// Another upload may have taken the UUID meanwhile.
		if err := s.uuidFree(ctx, user, in.UUID); err != nil {
			return nil, err
		}
		return nil, build.Errorf(build.ECONFLICT, "you already have a secret named %q; pick another name", in.Name)
	}
	sec.Data = nil
	return sec, nil
}

// uuidFree says why a secret cannot be stored under uuid, when it cannot:
// user has one with it already, or someone else has. Whose it is is not
// said, so that UUIDs cannot be used to learn who has which secret.
func (s *Service) uuidFree(ctx context.Context, user *build.User, uuid string) error {
	if uuid == "" {
		return nil
	}
	other, err := s.Store.Secret(ctx, uuid)
	switch {
	case build.ErrorCode(err) == build.ENOTFOUND:
		return nil
	case err != nil:
		return fmt.Errorf("look up secret %s: %w", uuid, err)
	case other.OwnerID == user.ID:
		return build.Errorf(build.ECONFLICT, "you already have the secret %s; delete it first to upload it again", uuid)
	}
	return build.Errorf(build.ECONFLICT, "the UUID %s is taken by another secret on this service; upload this one without a UUID to get a new one, and list that in your manifests", uuid)
}

func checkSecret(in SecretInput) error {
	if !in.Kind.Valid() {
		return build.Errorf(build.EINVALID, "unknown secret kind %q; use %s, %s or %s",
			in.Kind, build.SecretSSHKey, build.SecretPGPKey, build.SecretFile)
	}
	if len(in.Name) > MaxSecretNameSize || !utf8.ValidString(in.Name) || strings.ContainsAny(in.Name, "\x00\n") {
		return build.Errorf(build.EINVALID, "invalid secret name: use one line of text, at most %d bytes", MaxSecretNameSize)
	}
	if store.IsUUID(in.Name) {
		return build.Errorf(build.EINVALID, "a secret name may not look like a UUID; manifests name secrets by either")
	}
	if strings.HasPrefix(in.Name, "~") {
		return build.Errorf(build.EINVALID, "a secret name may not start with '~': names like ~user/name are those of secrets other users shared with you")
	}
	if len(in.Data) == 0 {
		return build.Errorf(build.EINVALID, "the secret is empty")
	}
	if len(in.Data) > MaxSecretSize {
		return build.Errorf(build.EINVALID, "the secret is %d bytes; the limit is %d", len(in.Data), MaxSecretSize)
	}
	switch in.Kind {
	case build.SecretSSHKey:
		if !bytes.Contains(in.Data, []byte("PRIVATE KEY-----")) {
			return build.Errorf(build.EINVALID, "an SSH key secret must be a private key in PEM or OpenSSH form (-----BEGIN ... PRIVATE KEY-----)")
		}
	case build.SecretPGPKey:
		if !bytes.Contains(in.Data, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----")) {
			return build.Errorf(build.EINVALID, "a PGP key secret must be an ASCII-armoured private key (gpg --export-secret-keys --armor)")
		}
	case build.SecretFile:
		return checkSecretFile(in.Path, in.Mode)
	}
	return nil
}

func checkSecretFile(path string, mode int) error {
	if path == "" {
		return build.Errorf(build.EINVALID, "a file secret needs the path it is written to in the guest, e.g. ~/.netrc")
	}
	if len(path) > 4096 || strings.ContainsAny(path, "\x00\n") {
		return build.Errorf(build.EINVALID, "invalid file secret path %q", path)
	}
	for _, part := range strings.Split(path, "/") {
		if part == ".." {
			return build.Errorf(build.EINVALID, "file secret path %q may not contain '..'", path)
		}
	}
	if mode <= 0 || mode > 0o777 {
		return build.Errorf(build.EINVALID, "file secret mode %o is not a file mode; use one such as 600 (octal)", mode)
	}
	return nil
}

// SharedName is the name a secret named name gets in the account of the
// user it is shared with: "~owner/name". A user's own secret names cannot
// start with "~", so a shared secret never takes the place of one of the
// recipient's own in a manifest that names it; the recipient uses it only
// by naming it "~owner/name" (or by UUID). An unnamed secret stays unnamed.
func SharedName(owner, name string) string {
	if name == "" {
		return ""
	}
	return "~" + owner + "/" + name
}

// ShareSecret copies user's secret with the given UUID to the account named
// toUser, as SharedName(user, name). The copy is the recipient's from then
// on (they may delete it); sharing the same name again is ECONFLICT. Errors
// name only user's own secrets, never the recipient's.
func (s *Service) ShareSecret(ctx context.Context, user *build.User, uuid, toUser string) (*build.Secret, error) {
	if err := requireUser(user); err != nil {
		return nil, err
	}
	sec, err := s.Store.Secret(ctx, uuid)
	if err != nil && build.ErrorCode(err) != build.ENOTFOUND {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	if sec == nil || sec.OwnerID != user.ID {
		return nil, build.Errorf(build.ENOTFOUND, "you have no secret with UUID %q", uuid)
	}
	target, err := s.Store.UserByName(ctx, strings.TrimPrefix(toUser, "~"))
	if err != nil {
		if build.ErrorCode(err) == build.ENOTFOUND {
			return nil, build.Errorf(build.ENOTFOUND, "no user named %q", toUser)
		}
		return nil, fmt.Errorf("read user: %w", err)
	}
	if target.ID == user.ID {
		return nil, build.Errorf(build.EINVALID, "the secret is already yours; name another user to share it with")
	}
	cp := &build.Secret{OwnerID: target.ID, Name: SharedName(user.Name, sec.Name), Kind: sec.Kind,
		Path: sec.Path, Mode: sec.Mode, Data: sec.Data}
	if err := s.Store.CreateSecret(ctx, cp); err != nil {
		if build.ErrorCode(err) == build.ECONFLICT {
			return nil, build.Errorf(build.ECONFLICT,
				"you already shared a secret named %q with ~%s; rename yours to share it again", sec.Name, target.Name)
		}
		return nil, fmt.Errorf("store shared secret: %w", err)
	}
	cp.Data = nil
	return cp, nil
}

// Secrets lists user's secrets newest first, without their values, and
// returns the cursor for the next page (0 when there is none).
func (s *Service) Secrets(ctx context.Context, user *build.User, before int64, limit int) ([]*build.Secret, int64, error) {
	if err := requireUser(user); err != nil {
		return nil, 0, err
	}
	list, next, err := s.Store.ListSecrets(ctx, user.ID, before, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("list secrets: %w", err)
	}
	for _, sec := range list {
		sec.Data = nil
	}
	return list, next, nil
}

// DeleteSecret deletes user's secret with the given UUID and returns what
// it was, without its value. Jobs already submitted that name it run
// without it.
func (s *Service) DeleteSecret(ctx context.Context, user *build.User, uuid string) (*build.Secret, error) {
	if err := requireUser(user); err != nil {
		return nil, err
	}
	sec, err := s.Store.Secret(ctx, uuid)
	if err != nil && build.ErrorCode(err) != build.ENOTFOUND {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	if sec == nil || sec.OwnerID != user.ID {
		return nil, build.Errorf(build.ENOTFOUND, "you have no secret with UUID %q", uuid)
	}
	if err := s.Store.DeleteSecret(ctx, user.ID, uuid); err != nil {
		return nil, fmt.Errorf("delete secret: %w", err)
	}
	sec.Data = nil
	return sec, nil
}
