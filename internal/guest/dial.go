// Package guest holds the runner's one persistent SSH connection to a build
// VM. Every command it runs goes through Command, so no argument ever reaches
// the guest's shell unquoted.
package guest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// DialOptions tunes Dial. The zero value is usable.
type DialOptions struct {
	// Timeout bounds the whole wait for the guest to answer; 0 means 120 s.
	// The context may end the wait sooner.
	Timeout time.Duration
	// HostKey checks the guest's host key. nil accepts any key: guests are
	// fresh VMs reached over a loopback port forward the runner itself set up.
	HostKey ssh.HostKeyCallback
	// Ciphers overrides the SSH ciphers offered, in order of preference;
	// nil keeps the library's defaults.
	Ciphers []string
	// KeepAlive is the interval between keepalive probes; 0 means 5 s, a
	// negative value disables them. A guest that misses three probes in a
	// row is considered dead and the connection is closed.
	KeepAlive time.Duration
}

// Conn is an SSH connection to one guest. It is safe for concurrent use:
// each call opens its own session on the shared connection.
type Conn struct {
	client *ssh.Client
	done   chan struct{}
	once   sync.Once
	mu     sync.Mutex
	err    error // why the connection ended, set before done is closed
}

// Dial connects to the SSH server at addr as user, authenticating with
// signer. Until the guest answers it retries with a short backoff: qemu's
// port forward accepts TCP connections before the guest's sshd runs, so
// refused connections and handshakes cut short are expected while the VM
// boots. It gives up when ctx ends or opts.Timeout passes, returning the
// last error seen.
func Dial(ctx context.Context, addr, user string, signer ssh.Signer, opts DialOptions) (*Conn, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 120 * time.Second
	}
	if opts.HostKey == nil {
		opts.HostKey = ssh.InsecureIgnoreHostKey() // #nosec: see DialOptions.HostKey
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	cfg := &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: opts.HostKey,
		Config:          ssh.Config{Ciphers: opts.Ciphers},
	}
	var lastErr error
	for delay := 10 * time.Millisecond; ; delay = min(delay*2, 250*time.Millisecond) {
		client, err := dialOnce(ctx, addr, cfg)
		if err == nil {
			return newConn(client, opts.KeepAlive), nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dial guest %s: %w (last error: %v)", addr, context.Cause(ctx), lastErr)
		case <-time.After(delay):
		}
	}
}

// dialOnce makes one attempt: a TCP connection and an SSH handshake, both
// bounded so that a guest that accepts but never speaks cannot stall us.
func dialOnce(ctx context.Context, addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	defer stop()
	sc, chans, reqs, err := ssh.NewClientConn(nc, addr, cfg)
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

func newConn(client *ssh.Client, keepAlive time.Duration) *Conn {
	c := &Conn{client: client, done: make(chan struct{})}
	go func() {
		err := client.Wait()
		c.finish(fmt.Errorf("guest connection closed: %w", orEOF(err)))
	}()
	if keepAlive == 0 {
		keepAlive = 5 * time.Second
	}
	if keepAlive > 0 {
		go c.keepAlive(keepAlive)
	}
	return c
}

func orEOF(err error) error {
	if err == nil {
		return errors.New("EOF")
	}
	return err
}

// keepAlive probes the guest every interval and closes the connection when
// three probes in a row get no answer, so a guest that died or hung is
// noticed even while no command produces output.
func (c *Conn) keepAlive(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	missed := 0
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		if c.probe(interval) {
			missed = 0
			continue
		}
		if missed++; missed >= 3 {
			c.finish(errors.New("guest stopped answering keepalives"))
			return
		}
	}
}

// probe sends one keepalive request and reports whether any answer (even a
// refusal) arrived within wait.
func (c *Conn) probe(wait time.Duration) bool {
	got := make(chan error, 1)
	go func() {
		_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
		got <- err
	}()
	select {
	case err := <-got:
		return err == nil
	case <-time.After(wait):
		return false
	case <-c.done:
		return false
	}
}

// finish records why the connection ended and closes it; only the first
// reason is kept.
func (c *Conn) finish(err error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		_ = c.client.Close()
		close(c.done)
	})
}

// Close closes the connection and every session on it.
func (c *Conn) Close() error {
	c.finish(errors.New("guest connection closed by the runner"))
	return nil
}

// Done is closed when the connection has ended, for any reason.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err says why the connection ended, or nil while it is up.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
