package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"

	"builds/internal/build"
	"builds/internal/store"
	"builds/internal/submit"
)

func secretCommand() *command {
	return &command{
		name:    "secret",
		usage:   "add --user U --kind ssh_key|pgp_key|file [--path P --mode 600] [--name N] [--uuid UUID] FILE | list --user U",
		summary: "upload a secret for a user (FILE - reads stdin), or list a user's secrets",
		flags: func(fs *flag.FlagSet) {
			addConfigFlags(fs)
			fs.String("user", "", "the user who owns the secret")
			fs.String("kind", "", "ssh_key, pgp_key or file")
			fs.String("name", "", "optional name; manifests may name the secret by it instead of its UUID")
			fs.String("uuid", "", "optional UUID the secret keeps, e.g. the one it had on builds.sr.ht; default: a new one")
			fs.String("path", "", "file: where the file is written in the guest, e.g. ~/.netrc")
			fs.String("mode", "600", "file: octal file mode")
		},
		run: runSecret,
	}
}

func runSecret(ctx context.Context, fs *flag.FlagSet, args []string) error {
	args, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	user := flagString(fs, "user")
	if user == "" {
		return usageErrorf("--user is required")
	}
	switch {
	case len(args) == 2 && args[0] == "add":
		in, err := secretInput(fs, args[1])
		if err != nil {
			return err
		}
		return withStore(ctx, fs, func(st store.Store) error { return addSecret(ctx, st, user, in) })
	case len(args) == 1 && args[0] == "list":
		return withStore(ctx, fs, func(st store.Store) error { return listSecrets(ctx, st, user) })
	}
	return usageErrorf("expected 'secret add --user U --kind K FILE' or 'secret list --user U'")
}

// secretInput reads the flags and the secret's file.
func secretInput(fs *flag.FlagSet, file string) (submit.SecretInput, error) {
	in := submit.SecretInput{Name: flagString(fs, "name"), UUID: flagString(fs, "uuid")}
	switch k := flagString(fs, "kind"); k {
	case "ssh_key", "pgp_key":
		in.Kind = build.SecretKind(k)
	case "file", string(build.SecretFile):
		in.Kind = build.SecretFile
		mode, err := strconv.ParseUint(flagString(fs, "mode"), 8, 32)
		if err != nil {
			return in, usageErrorf("--mode %q is not an octal file mode such as 600", flagString(fs, "mode"))
		}
		in.Path, in.Mode = flagString(fs, "path"), int(mode)
	case "":
		return in, usageErrorf("--kind is required: ssh_key, pgp_key or file")
	default:
		return in, usageErrorf("unknown --kind %q: use ssh_key, pgp_key or file", k)
	}
	data, err := readInput(file, submit.MaxSecretSize)
	if err != nil {
		return in, err
	}
	in.Data = data
	return in, nil
}

// readInput reads a file, or stdin for "-", refusing more than limit bytes.
func readInput(name string, limit int64) ([]byte, error) {
	r := io.Reader(os.Stdin)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return data, nil
}

func addSecret(ctx context.Context, st store.Store, user string, in submit.SecretInput) error {
	u, err := lookupUser(ctx, st, user)
	if err != nil {
		return err
	}
	svc := &submit.Service{Store: st}
	s, err := svc.CreateSecret(ctx, u, in)
	if err != nil {
		if build.ErrorCode(err) != build.EINTERNAL {
			return fmt.Errorf("%s", build.ErrorMessage(err))
		}
		return err
	}
	fmt.Fprintf(os.Stdout, "stored %s secret %s for ~%s; name it in a manifest's secrets list:\n%s\n",
		s.Kind, describeSecret(s), u.Name, s.UUID)
	return nil
}

func describeSecret(s *build.Secret) string {
	if s.Name == "" {
		return "(unnamed)"
	}
	return strconv.Quote(s.Name)
}

func listSecrets(ctx context.Context, st store.Store, user string) error {
	u, err := lookupUser(ctx, st, user)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "UUID\tKIND\tNAME\tPATH\tCREATED")
	var before int64
	for {
		list, next, err := st.ListSecrets(ctx, u.ID, before, 100)
		if err != nil {
			return fmt.Errorf("list secrets: %w", err)
		}
		for _, s := range list {
			path := "-"
			if s.Kind == build.SecretFile {
				path = fmt.Sprintf("%s (%o)", s.Path, s.Mode)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.UUID, s.Kind, s.Name, path, day(s.Created))
		}
		if next == 0 {
			return w.Flush()
		}
		before = next
	}
}
