// Package secretbox encrypts small values at rest with XChaCha20-Poly1305.
//
// XChaCha20-Poly1305 is chosen over AES-GCM because its 192-bit nonce can be
// drawn at random for every message without any risk of reuse, so no counter
// has to be kept in the database, and it is fast without AES instructions.
//
// A sealed value is a version byte, the nonce and the ciphertext with its
// tag. Callers bind a value to its place with additional data (for a secret,
// its UUID), so that a ciphertext copied into another row fails to open.
package secretbox

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the length of a key in bytes.
const KeySize = chacha20poly1305.KeySize

// version1 marks values sealed with XChaCha20-Poly1305 and a random nonce.
// A later scheme (or key rotation) gets a new version byte.
const version1 = 1

// ErrOpen is returned when a value cannot be decrypted: wrong key, wrong
// additional data, or a damaged value.
var ErrOpen = errors.New("secretbox: value cannot be decrypted with this key")

// Box seals and opens values with one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a key of exactly KeySize bytes.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secretbox: key is %d bytes, want %d", len(key), KeySize)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: new cipher: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext, authenticating ad along with it.
func (b *Box) Seal(plaintext, ad []byte) []byte {
	ns := b.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+b.aead.Overhead())
	out[0] = version1
	rand.Read(out[1:]) // never fails, see crypto/rand.Read
	return b.aead.Seal(out, out[1:], plaintext, ad)
}

// Open decrypts a value made by Seal with the same key and ad. Any
// mismatch is ErrOpen.
func (b *Box) Open(sealed, ad []byte) ([]byte, error) {
	ns := b.aead.NonceSize()
	if len(sealed) < 1+ns+b.aead.Overhead() || sealed[0] != version1 {
		return nil, ErrOpen
	}
	nonce, ct := sealed[1:1+ns], sealed[1+ns:]
	pt, err := b.aead.Open(nil, nonce, ct, ad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// GenerateKey returns a new random key.
func GenerateKey() []byte {
	k := make([]byte, KeySize)
	rand.Read(k)
	return k
}

// EncodeKey returns key as standard base64, the form ParseKey reads.
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// ParseKey decodes a key written in base64 (standard or URL alphabet,
// padded or not) or hex, as configuration files hold it, and checks its
// length.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	decoders := []func(string) ([]byte, error){
		hex.DecodeString,
		base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString,
		base64.RawURLEncoding.DecodeString,
	}
	for _, dec := range decoders {
		if k, err := dec(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("secret key must be %d bytes in base64 or hex; generate one with: openssl rand -base64 32", KeySize)
}
