package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"builds/internal/config"
)

func keyCommand() *command {
	return &command{
		name:    "key",
		usage:   "generate",
		summary: "print a new random key for [sr.ht] network-key",
		run: func(ctx context.Context, fs *flag.FlagSet, args []string) error {
			if len(args) != 1 || args[0] != "generate" {
				return usageErrorf("expected 'builds key generate'")
			}
			fmt.Println(newKey())
			return nil
		},
	}
}

func newKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.URLEncoding.EncodeToString(b)
}

// secretsKey returns the 32-byte key that encrypts secrets at rest: derived
// from [sr.ht] network-key when set, otherwise kept in the data directory
// (created on first use).
func secretsKey(c *config.Config) ([]byte, error) {
	if c.NetworkKey != "" {
		return deriveKey(c.NetworkKey), nil
	}
	return keyFile(filepath.Join(c.DataDir, "secrets.key"))
}

// deriveKey turns any configured key text into 32 bytes, so sr.ht's
// Fernet-style keys and our own generated ones both work.
func deriveKey(text string) []byte {
	sum := sha256.Sum256([]byte("builds secrets key\x00" + strings.TrimSpace(text)))
	return sum[:]
}

// keyFile reads a key kept in a file, creating the file with a new key
// (mode 600) when it does not exist. The new file is written aside and
// linked into place, so a concurrent reader never sees it half-written.
func keyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return deriveKey(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(newKey() + "\n")
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("install key file: %w", err)
	}
	return keyFile(path)
}
