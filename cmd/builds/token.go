package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"builds/internal/api"
	"builds/internal/build"
	"builds/internal/store"
)

func tokenCommand() *command {
	return &command{
		name:    "token",
		usage:   "create USER [--name N] [--scopes S] [--expires D] | list USER | revoke USER ID",
		summary: "create, list and revoke users' personal access tokens",
		flags: func(fs *flag.FlagSet) {
			addConfigFlags(fs)
			fs.String("name", "cli", "create: a label for the token")
			fs.String("scopes", "", `create: grants such as "JOBS:RW LOGS:RO" (default: every scope, read-write)`)
			fs.String("expires", "", "create: lifetime such as 90d or 12h, or a date such as 2030-01-31 (default: never)")
		},
		run: runToken,
	}
}

func runToken(ctx context.Context, fs *flag.FlagSet, args []string) error {
	args, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(args) == 2 && args[0] == "create":
		return createToken(ctx, fs, args[1])
	case len(args) == 2 && args[0] == "list":
		return withStore(ctx, fs, func(st store.Store) error { return listTokens(ctx, st, args[1]) })
	case len(args) == 3 && args[0] == "revoke":
		id, err := strconv.ParseInt(args[2], 10, 64)
		if err != nil {
			return usageErrorf("token ID %q is not a number; see 'builds token list %s'", args[2], args[1])
		}
		return withStore(ctx, fs, func(st store.Store) error { return revokeToken(ctx, st, args[1], id) })
	}
	return usageErrorf("expected 'token create USER', 'token list USER' or 'token revoke USER ID'")
}

// createToken prints a summary and then the token itself as the last
// line, so scripts can take it with tail -n 1.
func createToken(ctx context.Context, fs *flag.FlagSet, user string) error {
	grants, err := build.ParseGrants(flagString(fs, "scopes"))
	if err != nil {
		return usageErrorf("--scopes: %s", build.ErrorMessage(err))
	}
	expires, err := parseExpiry(flagString(fs, "expires"), time.Now())
	if err != nil {
		return usageErrorf("--expires: %v", err)
	}
	return withStore(ctx, fs, func(st store.Store) error {
		u, err := lookupUser(ctx, st, user)
		if err != nil {
			return err
		}
		value, hash, err := api.NewToken()
		if err != nil {
			return err
		}
		t := &build.Token{UserID: u.ID, Name: flagString(fs, "name"), Grants: grants, Expires: expires}
		if err := st.CreateToken(ctx, t, hash); err != nil {
			return fmt.Errorf("store token: %w", err)
		}
		until := "never expires"
		if !expires.IsZero() {
			until = "expires " + expires.Format(time.RFC3339)
		}
		fmt.Fprintf(os.Stdout, "token %d for ~%s (%s), grants %s, %s; it is shown only once:\n",
			t.ID, u.Name, t.Name, build.FormatGrants(grants), until)
		fmt.Fprintln(os.Stdout, value)
		return nil
	})
}

// parseExpiry reads a lifetime (90d, 12h, 1h30m) or a date (2006-01-02)
// or an RFC 3339 time; "" means never (the zero time).
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return now.Add(time.Duration(n) * 24 * time.Hour).UTC(), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d).UTC(), nil
	}
	for _, layout := range []string{time.DateOnly, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			if !t.After(now) {
				return time.Time{}, fmt.Errorf("%s is in the past", s)
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a lifetime (90d, 12h) nor a date (2030-01-31)", s)
}

func listTokens(ctx context.Context, st store.Store, user string) error {
	u, err := lookupUser(ctx, st, user)
	if err != nil {
		return err
	}
	list, err := st.ListTokens(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("list tokens: %w", err)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tGRANTS\tCREATED\tEXPIRES\tLAST USED")
	for _, t := range list {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, build.FormatGrants(t.Grants),
			day(t.Created), day(t.Expires), day(t.LastUsed))
	}
	return w.Flush()
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateOnly)
}

func revokeToken(ctx context.Context, st store.Store, user string, id int64) error {
	u, err := lookupUser(ctx, st, user)
	if err != nil {
		return err
	}
	if err := st.RevokeToken(ctx, u.ID, id); err != nil {
		if build.ErrorCode(err) == build.ENOTFOUND {
			return fmt.Errorf("~%s has no token %d; see 'builds token list %s'", u.Name, id, u.Name)
		}
		return fmt.Errorf("revoke token: %w", err)
	}
	fmt.Fprintf(os.Stdout, "revoked token %d of ~%s\n", id, u.Name)
	return nil
}
