package build

import "time"

// SecretKind says how a secret is installed in the guest.
type SecretKind string

// Secret kinds, spelled as builds.sr.ht stores them.
const (
	SecretSSHKey SecretKind = "ssh_key"        // ~/.ssh/<uuid>, mode 600
	SecretPGPKey SecretKind = "pgp_key"        // gpg --import
	SecretFile   SecretKind = "plaintext_file" // Path with Mode
)

// Valid reports whether k is a known secret kind.
func (k SecretKind) Valid() bool {
	return k == SecretSSHKey || k == SecretPGPKey || k == SecretFile
}

// Secret is a user's secret. Data holds the plaintext only in memory; the
// store keeps it encrypted, and no API returns it after creation.
type Secret struct {
	ID      int64
	UUID    string
	OwnerID int64
	Created time.Time
	Name    string // optional, unique per owner when set
	Kind    SecretKind
	Path    string // SecretFile only
	Mode    int    // SecretFile only, e.g. 0o600
	Data    []byte
}

// SSHPublicKey is a public key a user registered for SSH access to builds.
type SSHPublicKey struct {
	ID          int64
	UserID      int64
	Created     time.Time
	Fingerprint string
	Key         string // authorized_keys form
	Comment     string
}

// Webhook is a user's GraphQL webhook subscription.
type Webhook struct {
	ID      int64
	UserID  int64
	Created time.Time
	URL     string
	Events  []string
	Query   string
}
