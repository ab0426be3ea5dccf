package vm

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// KeyName is the file name of the runner's private key; the public key is
// KeyName+".pub" beside it.
const KeyName = "id_ed25519"

// KeyPair returns the path of the runner's private SSH key in dir, creating
// an ed25519 key pair (dir/id_ed25519, dir/id_ed25519.pub) if there is none.
// Guests accept only this key. The private key file is mode 0600.
func KeyPair(dir string) (string, error) {
	priv := filepath.Join(dir, KeyName)
	_, err := os.Stat(priv)
	if err == nil {
		if _, err := os.Stat(priv + ".pub"); err == nil {
			return priv, nil
		}
		return priv, writePublicKey(priv)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("check ssh key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create ssh key dir: %w", err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generate ssh key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(key, "builds runner")
	if err != nil {
		return "", fmt.Errorf("encode ssh key: %w", err)
	}
	if err := writeFileAtomic(priv, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", fmt.Errorf("write ssh key: %w", err)
	}
	return priv, writePublicKey(priv)
}

// writePublicKey derives priv.pub from the private key file priv.
func writePublicKey(priv string) error {
	data, err := os.ReadFile(priv)
	if err != nil {
		return fmt.Errorf("read ssh key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return fmt.Errorf("parse ssh key %s: %w", priv, err)
	}
	pub := ssh.MarshalAuthorizedKey(signer.PublicKey())
	if err := writeFileAtomic(priv+".pub", pub, 0o644); err != nil {
		return fmt.Errorf("write ssh public key: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside name and renames
// it into place, so a reader never sees a partial key.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}
