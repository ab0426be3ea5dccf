package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"

	"builds/internal/build"
	"builds/internal/config"
	"builds/internal/store"
)

func userCommand() *command {
	return &command{
		name:    "user",
		usage:   "add NAME [--email E] [--admin] | login-link NAME | passwd NAME | sign-out NAME",
		summary: "create a user, print a one-time web login link, set a password (read from stdin), or end their web sessions",
		flags: func(fs *flag.FlagSet) {
			addConfigFlags(fs)
			fs.String("email", "", "the user's email address")
			fs.Bool("admin", false, "make the user an administrator")
		},
		run: runUser,
	}
}

// userNamePattern is what a user name may look like: it appears in URLs
// (/~name/job/1) and on the command line.
var userNamePattern = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,29}$`)

func runUser(ctx context.Context, fs *flag.FlagSet, args []string) error {
	args, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(args) == 2 && args[0] == "login-link" {
		return runLoginLink(ctx, fs, args[1])
	}
	if len(args) == 2 && args[0] == "passwd" {
		return runPasswd(ctx, fs, args[1])
	}
	if len(args) == 2 && args[0] == "sign-out" {
		return runSignOut(ctx, fs, args[1])
	}
	if len(args) != 2 || args[0] != "add" {
		return usageErrorf("expected 'builds user add NAME', 'builds user login-link NAME', 'builds user passwd NAME' or 'builds user sign-out NAME'")
	}
	name := args[1]
	if !userNamePattern.MatchString(name) {
		return usageErrorf("invalid user name %q: use 1-30 lowercase letters, digits, '_' or '-', starting with a letter or '_'", name)
	}
	email := flagString(fs, "email")
	if email != "" && !strings.Contains(email, "@") {
		return usageErrorf("invalid email address %q", email)
	}
	return withStore(ctx, fs, func(st store.Store) error {
		u := &build.User{Name: name, Email: email, Admin: flagString(fs, "admin") == "true"}
		if err := st.CreateUser(ctx, u); err != nil {
			if build.ErrorCode(err) == build.ECONFLICT {
				return fmt.Errorf("a user named %q exists already", name)
			}
			return fmt.Errorf("create user: %w", err)
		}
		fmt.Fprintf(os.Stdout, "created user ~%s (id %d)\n", u.Name, u.ID)
		return nil
	})
}

// withStore loads the configuration, opens the store, runs fn and closes
// the store.
func withStore(ctx context.Context, fs *flag.FlagSet, fn func(store.Store) error) error {
	c, err := loadConfig(fs)
	if err != nil {
		return err
	}
	return withConfigStore(ctx, c, fn)
}

func withConfigStore(ctx context.Context, c *config.Config, fn func(store.Store) error) error {
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

// lookupUser reads a user by name (a leading "~" is allowed) with a
// message that says how to create a missing one.
func lookupUser(ctx context.Context, st store.Store, name string) (*build.User, error) {
	name = strings.TrimPrefix(name, "~")
	u, err := st.UserByName(ctx, name)
	if build.ErrorCode(err) == build.ENOTFOUND {
		return nil, fmt.Errorf("no user named %q; create one with 'builds user add %s'", name, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// parseInterleaved parses flags that may come after positional arguments
// ("user add NAME --email E"), which the flag package alone stops at.
// It returns the positional arguments in order.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageErrorf("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
