package guest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"golang.org/x/crypto/ssh"
)

// ExitError is returned when a command ran and exited unsuccessfully.
type ExitError struct {
	Code   int    // exit status; -1 when the command died of a signal
	Signal string // signal name without "SIG", when the command died of one
}

func (e *ExitError) Error() string {
	if e.Signal != "" {
		return "command killed by signal " + e.Signal
	}
	return "command exited with status " + strconv.Itoa(e.Code)
}

// RunOptions tunes one command. A nil *RunOptions means the defaults.
type RunOptions struct {
	Stdin  io.Reader // nil: empty input
	Stderr io.Writer // nil: same writer as stdout (ignored with a PTY)
	Sudo   bool      // run as root through passwordless sudo
}

// PTY geometry for task output: wide enough that progress bars and tables
// do not wrap in the log viewer.
const (
	ptyRows = 40
	ptyCols = 132
)

// Run runs argv in the guest, quoting every argument, with its standard
// output (and, unless opts says otherwise, standard error) copied to out.
// A nil out discards the output. A command that exits non-zero yields an
// *ExitError. When ctx ends the command is sent SIGKILL, its session is
// closed and Run returns the context's cause.
func (c *Conn) Run(ctx context.Context, argv []string, out io.Writer, opts *RunOptions) error {
	return c.run(ctx, argv, out, opts, false)
}

// RunPTY runs argv in the guest inside a pseudo-terminal of type
// xterm-256color, so programs print colours and progress bars as they
// would for a person; everything the terminal shows is copied to out.
// Errors are as for Run.
func (c *Conn) RunPTY(ctx context.Context, argv []string, out io.Writer, opts *RunOptions) error {
	return c.run(ctx, argv, out, opts, true)
}

func (c *Conn) run(ctx context.Context, argv []string, out io.Writer, opts *RunOptions, pty bool) error {
	if opts == nil {
		opts = &RunOptions{}
	}
	if opts.Sudo {
		argv = append([]string{"sudo", "-n", "--"}, argv...)
	}
	cmd, err := Command(argv)
	if err != nil {
		return err
	}
	sess, err := c.session(ctx)
	if err != nil {
		return err
	}
	defer sess.Close()
	if pty {
		modes := ssh.TerminalModes{ssh.ECHO: 0, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
		if err := sess.RequestPty("xterm-256color", ptyRows, ptyCols, modes); err != nil {
			return fmt.Errorf("request pty: %w", err)
		}
	}
	wireIO(sess, out, opts)
	if err := sess.Start(cmd); err != nil {
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	return c.wait(ctx, sess)
}

// session opens a new session, failing fast when the connection is gone.
func (c *Conn) session(ctx context.Context) (*ssh.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	sess, err := c.client.NewSession()
	if err != nil {
		if cerr := c.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("open session: %w", err)
	}
	return sess, nil
}

func wireIO(sess *ssh.Session, out io.Writer, opts *RunOptions) {
	if out == nil {
		out = io.Discard
	}
	if opts.Stderr != nil {
		sess.Stdout, sess.Stderr = out, opts.Stderr
	} else {
		// The session copies stdout and stderr in two goroutines; one
		// writer shared by both needs a lock.
		lw := &lockedWriter{w: out}
		sess.Stdout, sess.Stderr = lw, lw
	}
	sess.Stdin = opts.Stdin
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// wait waits for the session's command, killing it when ctx ends, and
// translates the outcome into our error types.
func (c *Conn) wait(ctx context.Context, sess *ssh.Session) error {
	stop := context.AfterFunc(ctx, func() {
		_ = sess.Signal(ssh.SIGKILL)
		_ = sess.Close()
	})
	err := sess.Wait()
	if !stop() {
		return context.Cause(ctx)
	}
	var ee *ssh.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		if ee.Signal() != "" {
			return &ExitError{Code: -1, Signal: ee.Signal()}
		}
		return &ExitError{Code: ee.ExitStatus()}
	}
	if cerr := c.Err(); cerr != nil {
		return cerr
	}
	var missing *ssh.ExitMissingError
	if errors.As(err, &missing) {
		return errors.New("command ended without an exit status; the guest connection may have dropped")
	}
	return fmt.Errorf("wait for command: %w", err)
}
