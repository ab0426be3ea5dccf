package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"builds/internal/config"
	"builds/internal/dispatch"
	"builds/internal/inproc"
	"builds/internal/lifecycle"
	"builds/internal/logs"
	"builds/internal/metrics"
	"builds/internal/queue/local"
	"builds/internal/runner"
	"builds/internal/store"
	"builds/internal/submit"
	"builds/internal/vm"
	"builds/internal/web"
)

func serveCommand() *command {
	return &command{
		name:    "serve",
		usage:   "[flags]",
		summary: "run the master: web UI, APIs and, without Redis, an in-process runner",
		flags: func(fs *flag.FlagSet) {
			addConfigFlags(fs)
			fs.String("listen", "", "HOST:PORT to listen on (overrides [builds.sr.ht] listen; default 127.0.0.1:8080)")
		},
		run: runServe,
	}
}

func runServe(ctx context.Context, fs *flag.FlagSet, args []string) error {
	if len(args) > 0 {
		return usageErrorf("serve takes no arguments, got %q", args)
	}
	if l := flagString(fs, "listen"); l != "" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			return usageErrorf("--listen %q: expected HOST:PORT such as 127.0.0.1:8080", l)
		}
	}
	cfg, err := loadConfig(fs)
	if err != nil {
		return err
	}
	if l := flagString(fs, "listen"); l != "" {
		cfg.Listen = l
		if cfg.Origin == "http://"+config.Default().Listen {
			cfg.Origin = "http://" + l
		}
	}
	m, err := newMaster(ctx, cfg)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Run(ctx)
}

// master is everything `builds serve` runs, wired together.
type master struct {
	cfg     *config.Config
	store   store.Store
	logs    *logs.Dir
	queue   *local.Queue
	submit  *submit.Service
	runner  *runner.Runner
	metrics *metrics.Metrics
	handler http.Handler
	ui      *web.Server
	life    *lifecycle.Lifecycle
	// dist is set when jobs go to remote runners through Redis; runner
	// and queue are then nil.
	dist    *dispatch.Master
	closers []func()
}

func newMaster(ctx context.Context, cfg *config.Config) (*master, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	unlock, err := lockDataDir(cfg, "builds serve")
	if err != nil {
		return nil, err
	}
	st, err := openStoreFor(ctx, cfg, cfg.MigrateOnUpgrade)
	if err != nil {
		unlock()
		return nil, err
	}
	m := &master{cfg: cfg, store: st, metrics: metrics.New(), closers: []func(){unlock}}
	if err := m.wire(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

func (m *master) wire(ctx context.Context) error {
	cfg := m.cfg
	var err error
	if m.logs, err = logs.Open(cfg.Worker.BuildLogs); err != nil {
		return fmt.Errorf("open log directory: %w", err)
	}
	images := imageLister(cfg.Worker.Images)
	m.life = lifecycle.New(lifecycle.Options{Store: m.store, Logs: m.logs})
	m.closers = append(m.closers, m.metrics.Follow(m.life.Bus()), m.revokeJobTokens())
	m.submit = &submit.Service{Store: m.store, Life: m.life, Images: images.names}
	if cfg.Distributed() {
		if err := m.wireDistributed(ctx); err != nil {
			return err
		}
		return m.routes(images)
	}
	m.submit.Arches = func() []string { return cfg.Worker.Arches }
	m.queue = local.New(local.Options{})
	if m.runner, err = m.newRunner(ctx); err != nil {
		return err
	}
	m.life.SetQueue(m.queue, func(id int64) { m.runner.Cancel(id) })
	return m.routes(images)
}

func (m *master) newRunner(ctx context.Context) (*runner.Runner, error) {
	cfg := m.cfg
	keyDir := filepath.Join(cfg.DataDir, "ssh")
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	key, err := vm.KeyPair(keyDir)
	if err != nil {
		return nil, err
	}
	signer, err := runner.LoadSigner(key)
	if err != nil {
		return nil, err
	}
	ctl, err := vmControl(ctx, cfg, key)
	if err != nil {
		return nil, err
	}
	link := inproc.New(m.life)
	link.MintToken = m.jobTokens().mint
	r := &runner.Runner{
		Name: localRunnerName, Source: m.queue, Jobs: link, Reporter: link,
		VM: runner.ControlBooter{Control: ctl}, Logs: m.logs, Signer: signer,
		Arches: cfg.Worker.Arches, Concurrency: cfg.Worker.Concurrency,
		Timeout: cfg.Worker.Timeout, SetupTimeout: cfg.Worker.SetupTimeout,
		JobURL:       m.jobURL,
		ArtifactsDir: cfg.Worker.Artifacts,
		ArtifactURL:  artifactURL(cfg, m.cfg.Origin),
		Trace:        link.Trace,
	}
	setRunnerLimits(r, cfg, func(reason string) { m.metrics.DiskLow(reason != "") })
	return r, nil
}

// localRunnerName is what jobs run by the in-process runner record.
const localRunnerName = "local"

func (m *master) jobURL(id int64) string {
	j, err := m.store.Job(context.Background(), id)
	if err != nil {
		return m.cfg.Origin
	}
	return fmt.Sprintf("%s/~%s/job/%d", m.cfg.Origin, j.Owner, id)
}

// Run serves HTTP and runs jobs until ctx ends. The first SIGINT or SIGTERM
// stops taking new jobs and lets running ones finish; a second cancels them.
func (m *master) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	if m.dist == nil {
		if err := m.life.RecoverLocal(ctx); err != nil {
			return err
		}
	} else {
		go m.watchArches(ctx)
	}
	ln, err := net.Listen("tcp", m.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set another address with --listen or [builds.sr.ht] listen)", m.cfg.Listen, err)
	}
	srv := newHTTPServer(m.handler)
	go srv.Serve(ln)
	slog.Info("builds is serving", "url", m.cfg.Origin, "listen", ln.Addr().String(), "data", m.cfg.DataDir)
	done := make(chan error, 1)
	if m.dist != nil {
		go func() { done <- m.dist.Run(ctx) }()
	} else {
		go func() { done <- m.runner.Run(ctx) }()
	}
	m.waitSignals(cancel, done)
	shutdownCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	return srv.Shutdown(shutdownCtx)
}

// waitSignals drains on the first signal and cancels on the second; it
// returns once the runner has stopped.
func (m *master) waitSignals(cancel context.CancelFunc, done <-chan error) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	draining := false
	for {
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				slog.Error("runner stopped", "err", err)
			}
			return
		case <-sigs:
			if draining || m.runner == nil {
				slog.Info("second signal: cancelling running jobs")
				cancel()
				continue
			}
			draining = true
			slog.Info("signal: no new jobs; running jobs finish (signal again to cancel them)", "running", len(m.runner.Running()))
			m.runner.Drain()
		}
	}
}

// Close releases the database and Redis connections.
func (m *master) Close() error {
	for _, c := range m.closers {
		c()
	}
	return m.store.Close()
}
