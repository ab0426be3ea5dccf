// Command builds is the whole service in one binary: the master (serve), a
// remote runner (runner), the client (submit) and the operator's tools.
// All wiring of packages happens in this directory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. run gets the arguments after the command's
// name; it returns errUsage (wrapped or not) for bad flags or arguments.
type command struct {
	name    string
	usage   string                 // argument synopsis, e.g. "[flags] FILE..."
	summary string                 // one line for `builds help`
	flags   func(fs *flag.FlagSet) // declares flags; may be nil
	run     func(ctx context.Context, fs *flag.FlagSet, args []string) error
}

// errUsage marks an error caused by how the command was called.
var errUsage = errors.New("usage error")

// usageErrorf returns an error that prints msg and the command's usage.
func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

// commands lists every subcommand. Each lives in a file of its own name.
func commands() []*command {
	return []*command{
		versionCommand(),
		manifestCommand(),
		imageCommand(),
		keyCommand(),
		serveCommand(),
		migrateCommand(),
		runnerCommand(),
		runnersCommand(),
		submitCommand(),
		userCommand(),
		tokenCommand(),
		secretCommand(),
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c := findCommand(args[1]); c != nil {
				printCommandHelp(stdout, c, newFlagSet(c, stdout))
				return 0
			}
		}
		printHelp(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c := findCommand(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "builds: unknown command %q; run 'builds help' for the list\n", args[0])
		return 2
	}
	fs := newFlagSet(c, stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ctx, stop := signalContext()
	defer stop()
	err := c.run(ctx, fs, fs.Args())
	if err == nil {
		return 0
	}
	var exit exitError
	if errors.As(err, &exit) {
		return int(exit)
	}
	fmt.Fprintf(stderr, "builds %s: %v\n", c.name, err)
	if errors.Is(err, errUsage) {
		fmt.Fprintf(stderr, "run 'builds %s -h' for help\n", c.name)
		return 2
	}
	return 1
}

// exitError ends the program with a status and no message; the command has
// already said what went wrong.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func newFlagSet(c *command, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("builds "+c.name, flag.ContinueOnError)
	fs.SetOutput(out)
	if c.flags != nil {
		c.flags(fs)
	}
	fs.Usage = func() { printCommandHelp(out, c, fs) }
	return fs
}

func printCommandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: builds %s %s\n\n%s\n", c.name, c.usage, c.summary)
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintf(w, "\nflags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

func printHelp(w io.Writer) {
	fmt.Fprintf(w, "builds: a self-hosted CI service that runs each build in a fresh VM\n\nusage: builds <command> [flags] [args]\n\ncommands:\n")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nrun 'builds <command> -h' for a command's flags\n")
}

// signalContext is cancelled by the first SIGINT or SIGTERM. Commands that
// drain on the first signal (serve, runner) install their own handling.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
