package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"builds/internal/manifest"
)

func manifestCommand() *command {
	return &command{
		name:    "manifest",
		usage:   "check FILE... (- reads standard input)",
		summary: "check build manifests offline, without submitting them",
		run: func(ctx context.Context, fs *flag.FlagSet, args []string) error {
			if len(args) == 0 || args[0] != "check" {
				return usageErrorf("expected 'builds manifest check FILE...'")
			}
			if len(args) == 1 {
				return usageErrorf("name at least one manifest file, or - for standard input")
			}
			return checkManifests(os.Stdout, os.Stdin, args[1:])
		},
	}
}

// readLimit bounds how much of a file or of standard input is read: a
// byte past the largest valid manifest tells that it is too large, so
// that /dev/zero or a huge file cannot make the check read forever.
const readLimit = manifest.MaxSize + 1

// checkManifests parses each file ("-" is stdin) and writes one line per
// valid file or per problem to w. It returns exitError(1) when any file
// is invalid or unreadable, after reporting every file.
func checkManifests(w io.Writer, stdin io.Reader, files []string) error {
	failed := false
	for _, file := range files {
		name, data, err := readManifest(stdin, file)
		if errors.Is(err, errTooLarge) {
			fmt.Fprintf(w, "%s: %v\n", name, err)
			failed = true
			continue
		}
		if err != nil {
			fmt.Fprintf(w, "%s: cannot read: %v\n", name, err)
			failed = true
			continue
		}
		if !reportManifest(w, name, data) {
			failed = true
		}
	}
	if failed {
		return exitError(1)
	}
	return nil
}

// errTooLarge is the error of readManifest for a file past readLimit.
var errTooLarge = fmt.Errorf("manifest is larger than the limit of 64 KiB (%d bytes), which builds.sr.ht refuses too; "+
	"move long scripts into a file in your repository and run that file from a task", manifest.MaxSize)

// readManifest reads one manifest and returns the name to report it by.
// It reads no more than readLimit bytes.
func readManifest(stdin io.Reader, file string) (string, []byte, error) {
	name, r := "<stdin>", stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return file, nil, unwrapPath(err)
		}
		defer f.Close()
		name, r = file, f
	}
	data, err := io.ReadAll(io.LimitReader(r, readLimit))
	if err == nil && len(data) > manifest.MaxSize {
		err = errTooLarge
	}
	return name, data, unwrapPath(err)
}

// unwrapPath drops the file name from a file error: it is printed already.
func unwrapPath(err error) error {
	var perr *os.PathError
	if errors.As(err, &perr) {
		return perr.Err
	}
	return err
}

// reportManifest writes the result of parsing one manifest and reports
// whether it is valid. Warnings (things accepted but ignored) are printed
// as "warning:" lines and do not make a manifest invalid.
func reportManifest(w io.Writer, name string, data []byte) bool {
	m, err := manifest.Parse(data)
	if err == nil {
		writeProblems(w, name, "warning: ", m.Warnings)
		fmt.Fprintf(w, "%s: ok\n", name)
		return true
	}
	var errs *manifest.Errors
	if !errors.As(err, &errs) {
		fmt.Fprintf(w, "%s: %v\n", name, err)
		return false
	}
	writeProblems(w, name, "", errs.Problems)
	writeProblems(w, name, "warning: ", errs.Warnings)
	return false
}

// writeProblems writes one "file:line:col: [prefix]path: message" line per
// problem.
func writeProblems(w io.Writer, name, prefix string, ps []manifest.Problem) {
	for _, p := range ps {
		pos := name
		if p.Line > 0 {
			pos = fmt.Sprintf("%s:%d:%d", name, p.Line, p.Column)
		}
		if p.Path != "" {
			fmt.Fprintf(w, "%s: %s%s: %s\n", pos, prefix, p.Path, p.Message)
		} else {
			fmt.Fprintf(w, "%s: %s%s\n", pos, prefix, p.Message)
		}
	}
}
