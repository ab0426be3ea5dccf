// Package fakeguest is a stand-in for build VMs in load tests of the
// control plane: an in-process SSH server that accepts only the runner's
// key and answers every command with success after reading its input,
// running nothing. A Booter "boots" such a guest instantly, so the
// queue, the events and the store can be measured without qemu.
//
// It must never serve real jobs: nothing a manifest asks is done.
package fakeguest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"builds/internal/runner"
)

// Server is a fake guest listening on 127.0.0.1.
type Server struct {
	ln   net.Listener
	cfg  *ssh.ServerConfig
	wg   sync.WaitGroup
	step time.Duration
}

// Start listens on a free loopback port and accepts connections
// authenticated with the public key of signer. Each command takes step
// (zero: it returns at once), so that jobs can be made to last.
func Start(signer ssh.Signer, step time.Duration) (*Server, error) {
	_, hostKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	hs, err := ssh.NewSignerFromKey(hostKey)
	if err != nil {
		return nil, err
	}
	want := signer.PublicKey().Marshal()
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if bytes.Equal(k.Marshal(), want) {
			return nil, nil
		}
		return nil, errors.New("unknown key")
	}}
	cfg.AddHostKey(hs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fake guest: %w", err)
	}
	s := &Server{ln: ln, cfg: cfg, step: step}
	s.wg.Go(s.accept)
	return s, nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops accepting connections.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

func (s *Server) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.serve(c)
	}
}

func (s *Server) serve(c net.Conn) {
	defer c.Close()
	sc, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go func() {
		for r := range reqs {
			if r.WantReply {
				r.Reply(true, nil) // keepalives
			}
		}
	}()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go s.session(ch, creqs)
	}
}

// session acknowledges every request; on exec or shell it reads the input
// to its end and exits 0.
func (s *Server) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for r := range reqs {
		if r.WantReply {
			r.Reply(true, nil)
		}
		if r.Type == "exec" || r.Type == "shell" {
			io.Copy(io.Discard, ch)
			time.Sleep(s.step)
			status := make([]byte, 4)
			binary.BigEndian.PutUint32(status, 0)
			if _, err := ch.SendRequest("exit-status", false, status); err != nil {
				slog.Debug("fake guest: send exit status", "err", err)
			}
			return
		}
	}
}

// Booter boots fake guests: every VM is the one Server.
type Booter struct{ Server *Server }

var _ runner.VMBooter = Booter{}

// Boot returns at once.
func (b Booter) Boot(context.Context, string, string) (runner.VM, error) {
	return vm{addr: b.Server.Addr()}, nil
}

type vm struct{ addr string }

func (v vm) Addr() string                  { return v.addr }
func (v vm) Cleanup(context.Context) error { return nil }
