package secretbox_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"builds/internal/secretbox"
)

func TestSealOpen(t *testing.T) {
	box, err := secretbox.New(secretbox.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	pt := []byte("-----BEGIN OPENSSH PRIVATE KEY-----")
	sealed := box.Seal(pt, []byte("uuid-1"))
	if bytes.Contains(sealed, pt) {
		t.Fatal("sealed value contains the plaintext")
	}
	if again := box.Seal(pt, []byte("uuid-1")); bytes.Equal(again, sealed) {
		t.Fatal("two seals of one value are equal: nonce not random")
	}
	got, err := box.Open(sealed, []byte("uuid-1"))
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open = %q, %v; want %q", got, err, pt)
	}
}

func TestOpenRefuses(t *testing.T) {
	box, _ := secretbox.New(secretbox.GenerateKey())
	other, _ := secretbox.New(secretbox.GenerateKey())
	sealed := box.Seal([]byte("data"), []byte("a"))
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	cases := map[string]func() ([]byte, error){
		"other ad":  func() ([]byte, error) { return box.Open(sealed, []byte("b")) },
		"other key": func() ([]byte, error) { return other.Open(sealed, []byte("a")) },
		"flipped":   func() ([]byte, error) { return box.Open(flipped, []byte("a")) },
		"short":     func() ([]byte, error) { return box.Open(sealed[:10], []byte("a")) },
		"empty":     func() ([]byte, error) { return box.Open(nil, []byte("a")) },
	}
	for name, open := range cases {
		if _, err := open(); !errors.Is(err, secretbox.ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

func TestKeys(t *testing.T) {
	if _, err := secretbox.New(make([]byte, 16)); err == nil {
		t.Error("New accepted a 16-byte key")
	}
	k := secretbox.GenerateKey()
	for _, s := range []string{secretbox.EncodeKey(k), hex.EncodeToString(k)} {
		got, err := secretbox.ParseKey(s)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("ParseKey(%q) = %x, %v; want %x", s, got, err, k)
		}
	}
	if _, err := secretbox.ParseKey("c2hvcnQ="); err == nil {
		t.Error("ParseKey accepted a short key")
	}
}
