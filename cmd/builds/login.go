package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"builds/internal/store"
	"builds/internal/web"
)

// loginLinkTTL is how long a printed login link stays valid.
const loginLinkTTL = 15 * time.Minute

// runLoginLink prints a one-time link that signs the user in to the web UI.
// It is signed with the same key file serve reads, so it works while serve
// runs.
func runLoginLink(ctx context.Context, fs *flag.FlagSet, name string) error {
	c, err := loadConfig(fs)
	if err != nil {
		return err
	}
	key, err := keyFile(filepath.Join(c.DataDir, "web.key"))
	if err != nil {
		return err
	}
	return withConfigStore(ctx, c, func(st store.Store) error {
		u, err := lookupUser(ctx, st, name)
		if err != nil {
			return err
		}
		link, err := web.LoginLink(key, c.Origin, u, loginLinkTTL)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stdout, "sign in as ~%s within %v (the link works once):\n%s\n", u.Name, loginLinkTTL, link)
		return nil
	})
}

// runPasswd sets a user's web password from the first line of stdin.
func runPasswd(ctx context.Context, fs *flag.FlagSet, name string) error {
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		fmt.Fprint(os.Stderr, "new password: ")
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	pw := strings.TrimRight(line, "\r\n")
	if err != nil && pw == "" {
		return errors.New("read password from stdin: nothing given")
	}
	if len(pw) < 8 {
		return usageErrorf("the password must have at least 8 characters")
	}
	hash, err := web.HashPassword(pw)
	if err != nil {
		return err
	}
	return withStore(ctx, fs, func(st store.Store) error {
		u, err := lookupUser(ctx, st, name)
		if err != nil {
			return err
		}
		if err := st.SetPassword(ctx, u.ID, hash); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		fmt.Fprintf(os.Stdout, "password set for ~%s\n", u.Name)
		return nil
	})
}

// runSignOut ends every web session of a user, in every browser.
func runSignOut(ctx context.Context, fs *flag.FlagSet, name string) error {
	return withStore(ctx, fs, func(st store.Store) error {
		u, err := lookupUser(ctx, st, name)
		if err != nil {
			return err
		}
		n, err := st.DeleteUserSessions(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		fmt.Fprintf(os.Stdout, "ended %d web session(s) of ~%s\n", n, u.Name)
		return nil
	})
}
