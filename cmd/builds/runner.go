package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"builds/internal/agent"
	"builds/internal/config"
	"builds/internal/logs"
	rq "builds/internal/queue/redis"
	"builds/internal/runner"
	"builds/internal/runner/fakeguest"
	"builds/internal/secretbox"
	"builds/internal/untrusted"
	"builds/internal/vm"
	"builds/internal/wire"
)

func runnerCommand() *command {
	return &command{
		name:    "runner",
		usage:   "[flags]",
		summary: "run a remote runner: take jobs from the shared Redis queue, serve their logs",
		flags: func(fs *flag.FlagSet) {
			addConfigFlags(fs)
			fs.Duration("lease-time", 0, "how long a job's lease lasts without a heartbeat; must match the master's (default [builds.sr.ht] lease-time, 60s)")
			fs.Bool("fake-vm", false, "load tests only: run no VM and no command, answer every step with success")
			fs.Duration("fake-vm-step", 0, "with --fake-vm: how long each step takes")
		},
		run: runRunner,
	}
}

// remoteRunner is everything `builds runner` runs.
type remoteRunner struct {
	cfg    *config.Config
	agent  *agent.Agent
	runner *runner.Runner
	srv    *http.Server
	ln     net.Listener
	closer []func()
}

func runRunner(ctx context.Context, fs *flag.FlagSet, args []string) error {
	if len(args) > 0 {
		return usageErrorf("runner takes no arguments, got %q", args)
	}
	cfg, err := loadConfig(fs)
	if err != nil {
		return err
	}
	lease := fs.Lookup("lease-time").Value.(flag.Getter).Get().(time.Duration)
	if lease == 0 {
		lease = cfg.LeaseTime
	}
	var fake *time.Duration
	if fs.Lookup("fake-vm").Value.String() == "true" {
		step := fs.Lookup("fake-vm-step").Value.(flag.Getter).Get().(time.Duration)
		fake = &step
	}
	rr, err := newRemoteRunner(ctx, cfg, lease, fake)
	if err != nil {
		return err
	}
	defer rr.Close()
	return rr.Run(ctx)
}

func newRemoteRunner(ctx context.Context, cfg *config.Config, lease time.Duration, fake *time.Duration) (*remoteRunner, error) {
	if cfg.Redis == "" {
		return nil, errors.New("[builds.sr.ht] redis must name the Redis server the master queues jobs in")
	}
	key, err := secretbox.ParseKey(cfg.NetworkKey)
	if err != nil {
		return nil, fmt.Errorf("[sr.ht] network-key: %w", err)
	}
	box, err := secretbox.New(key)
	if err != nil {
		return nil, err
	}
	unlock, err := lockDataDir(cfg, "builds runner")
	if err != nil {
		return nil, err
	}
	rr := &remoteRunner{cfg: cfg, closer: []func(){unlock}}
	if err := rr.wire(ctx, box, key, lease, fake); err != nil {
		rr.Close()
		return nil, err
	}
	return rr, nil
}

func (rr *remoteRunner) wire(ctx context.Context, box *secretbox.Box, key []byte, lease time.Duration, fake *time.Duration) error {
	cfg := rr.cfg
	rdb, err := rq.Dial(ctx, cfg.Redis)
	if err != nil {
		return err
	}
	rr.closer = append(rr.closer, func() { rdb.Close() })
	d, err := logs.Open(cfg.Worker.BuildLogs)
	if err != nil {
		return fmt.Errorf("open log directory: %w", err)
	}
	rr.agent, err = agent.NewAgent(rdb, agent.AgentOptions{
		Queue: rq.Options{Box: box, LeaseTime: lease}, Name: cfg.Worker.Name,
		Arches: cfg.Worker.Arches, Capacity: cfg.Worker.Concurrency,
		LogURL: "http://" + cfg.Worker.Name + "/logs/", LogDir: d.Root(), LogKey: wire.LogKey(key),
	})
	if err != nil {
		return err
	}
	booter, signer, err := rr.vms(ctx, fake)
	if err != nil {
		return err
	}
	rr.runner = &runner.Runner{
		Name: cfg.Worker.Name, Source: rr.agent, Reporter: rr.agent, Jobs: rr.agent,
		VM: booter, Logs: d, Signer: signer, Arches: cfg.Worker.Arches,
		Concurrency: cfg.Worker.Concurrency, Timeout: cfg.Worker.Timeout,
		SetupTimeout: cfg.Worker.SetupTimeout, Heartbeat: rr.agent.HeartbeatInterval(),
		JobURL: rr.agent.JobURL, ArtifactsDir: cfg.Worker.Artifacts, Trace: rr.agent.Trace,
		ArtifactURL: func(id int64, name string) string {
			return "http://" + cfg.Worker.Name + "/artifacts/" + strconv.FormatInt(id, 10) + "/" + url.PathEscape(name)
		},
	}
	setRunnerLimits(rr.runner, cfg, nil)
	return rr.listen(d)
}

// vms returns the VM booter and the key guests accept.
func (rr *remoteRunner) vms(ctx context.Context, fake *time.Duration) (runner.VMBooter, ssh.Signer, error) {
	cfg := rr.cfg
	keyDir := filepath.Join(cfg.DataDir, "ssh")
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create key directory: %w", err)
	}
	key, err := vm.KeyPair(keyDir)
	if err != nil {
		return nil, nil, err
	}
	signer, err := runner.LoadSigner(key)
	if err != nil {
		return nil, nil, err
	}
	if fake != nil {
		slog.Warn("--fake-vm: jobs run NOTHING and succeed; use this for load tests only")
		g, err := fakeguest.Start(signer, *fake)
		if err != nil {
			return nil, nil, err
		}
		rr.closer = append(rr.closer, func() { g.Close() })
		return fakeguest.Booter{Server: g}, signer, nil
	}
	ctl, err := vmControl(ctx, cfg, key)
	if err != nil {
		return nil, nil, err
	}
	return runner.ControlBooter{Control: ctl}, signer, nil
}

// listen opens the runner's HTTP server: /logs/ and /artifacts/, each
// open for public and unlisted jobs and, for private ones, to holders of
// a token the master signed.
func (rr *remoteRunner) listen(d *logs.Dir) error {
	mux := http.NewServeMux()
	mux.Handle("/logs/", logs.NewHandler(d, rr.agent.AllowLog))
	mux.HandleFunc("/artifacts/", rr.serveArtifact)
	ln, err := net.Listen("tcp", rr.cfg.Worker.BindAddress)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set [builds.sr.ht::worker] bind-address)", rr.cfg.Worker.BindAddress, err)
	}
	rr.ln = ln
	mux.HandleFunc("GET /healthz", rr.healthz)
	rr.srv = newHTTPServer(mux)
	return nil
}

// healthz answers 200 while the runner takes jobs and 503, with the
// reason, while it does not for lack of disk space.
func (rr *remoteRunner) healthz(w http.ResponseWriter, r *http.Request) {
	if reason := rr.runner.Full(); reason != "" {
		http.Error(w, "not taking jobs: "+reason, http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// serveArtifact serves GET /artifacts/<job id>/<name> as a download that
// cannot run on this origin (see package untrusted).
func (rr *remoteRunner) serveArtifact(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/artifacts/")
	idStr, name, ok := strings.Cut(rest, "/")
	id, err := strconv.ParseInt(idStr, 10, 64)
	if !ok || err != nil || id < 1 || strconv.FormatInt(id, 10) != idStr || !untrusted.ValidName(name) ||
		!rr.agent.AllowLog(r, id) || rr.cfg.Worker.Artifacts == "" {
		http.NotFound(w, r)
		return
	}
	untrusted.ServeArtifact(w, r, filepath.Join(rr.cfg.Worker.Artifacts, idStr), name)
}

// Run serves logs and runs jobs. The first SIGINT or SIGTERM stops taking
// jobs and lets the running ones finish; a second cancels them.
func (rr *remoteRunner) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	go rr.srv.Serve(rr.ln)
	var draining atomic.Bool
	agentDone := make(chan struct{})
	go func() {
		defer close(agentDone)
		rr.agent.Run(ctx, agent.Control{Cancel: rr.runner.Cancel, Running: rr.runner.Running, Draining: draining.Load})
	}()
	slog.Info("runner started", "name", rr.cfg.Worker.Name, "logs", "http://"+rr.ln.Addr().String()+"/logs/",
		"arches", rr.cfg.Worker.Arches, "concurrency", rr.cfg.Worker.Concurrency)
	done := make(chan error, 1)
	go func() { done <- rr.runner.Run(ctx) }()
	err := rr.waitSignals(cancel, &draining, done)
	cancel()
	<-agentDone
	shutdownCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	rr.srv.Shutdown(shutdownCtx)
	return err
}

func (rr *remoteRunner) waitSignals(cancel context.CancelFunc, draining *atomic.Bool, done <-chan error) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	for {
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		case <-sigs:
			if draining.Load() {
				slog.Info("second signal: cancelling running jobs")
				cancel()
				continue
			}
			draining.Store(true)
			slog.Info("signal: no new jobs; running jobs finish (signal again to cancel them)", "running", len(rr.runner.Running()))
			rr.runner.Drain()
		}
	}
}

// Close releases what wire opened.
func (rr *remoteRunner) Close() {
	for i := len(rr.closer) - 1; i >= 0; i-- {
		rr.closer[i]()
	}
	rr.closer = nil
}
