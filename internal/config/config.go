// Package config reads the service's INI configuration file. The file uses
// the sections of builds.sr.ht ([sr.ht], [mail], [webhooks], [builds.sr.ht],
// [builds.sr.ht::worker]) so existing files keep working, and every setting
// has a default that works on a single host, so no file is needed at all.
//
// The INI format is read with gopkg.in/ini.v1: it is widely used, handles
// the "::" in section names and the comment styles sr.ht files contain.
package config

import (
	"os"
	"path/filepath"
	"time"
)

// EnvFile names the environment variable that selects a configuration file
// when no --config flag is given.
const EnvFile = "BUILDS_CONFIG"

// EnvData names the environment variable that selects the data directory
// when neither the --data flag nor the file sets one.
const EnvData = "BUILDS_DATA"

// Config is the whole configuration, defaults applied.
type Config struct {
	Path     string   // file read, "" when running on defaults
	Warnings []string // keys we read past without using, worth telling the operator

	SiteName   string // [sr.ht] site-name
	OwnerName  string // [sr.ht] owner-name
	OwnerEmail string // [sr.ht] owner-email
	// NetworkKey is [sr.ht] network-key: the key secrets are encrypted with.
	// Empty means a key generated once and kept in the data directory,
	// which only works when a single host holds every part.
	NetworkKey   string
	PrivateRedis string // [sr.ht] redis-host: the master's own Redis

	Origin           string // [builds.sr.ht] origin: public URL of the master
	Listen           string // [builds.sr.ht] listen (ours): where serve listens
	DataDir          string // [builds.sr.ht] data-dir (ours): database, logs, keys
	ConnectionString string // [builds.sr.ht] connection-string: PostgreSQL; "" = SQLite
	MigrateOnUpgrade bool   // [builds.sr.ht] migrate-on-upgrade
	Redis            string // [builds.sr.ht] redis: the queue shared with runners
	// LeaseTime is [builds.sr.ht] lease-time (ours): how long a remote
	// runner's hold on a job lasts without a heartbeat before the master
	// treats the runner as dead. Master and runners must agree on it.
	LeaseTime time.Duration
	AllowFree bool   // [builds.sr.ht] allow-free
	Shell     string // [builds.sr.ht] shell: login shell for SSH access
	// StreamsPerClient is [builds.sr.ht] streams-per-client (ours): how
	// many live streams (log follows, job page updates, submit --follow)
	// one client address may hold open at once; 0 means no cap.
	StreamsPerClient int

	Mail     Mail
	Webhooks Webhooks
	Worker   Worker

	// Bounds on requests and builds (limits.go).
	ArtifactsOrigin string        // [builds.sr.ht] artifacts-origin (ours): where artifacts are served
	NoRunnerWait    time.Duration // [builds.sr.ht] no-runner-wait (ours): how long a job waits for a runner of its arch
	API             API           // [builds.sr.ht::api]

	// Read from other sr.ht services' sections, as builds.sr.ht does.

	// SSHUser is the user of SSH access to builds (ssh SSHUser@runner
	// connect ID), from [git.sr.ht::dispatch]; default DefaultSSHUser.
	SSHUser string
}

// Mail is the [mail] section: how email triggers are sent.
type Mail struct {
	SMTPHost       string
	SMTPPort       int
	SMTPUser       string
	SMTPPassword   string
	SMTPFrom       string
	SMTPEncryption string // tls, starttls or insecure
}

// Webhooks is the [webhooks] section.
type Webhooks struct {
	// PrivateKey is a base64 Ed25519 key that signs webhook payloads.
	// Empty means a key generated once and kept in the data directory.
	PrivateKey string
}

// Worker is the [builds.sr.ht::worker] section: a runner's own settings.
type Worker struct {
	Name         string        // host:port others reach this runner's logs at
	BuildLogs    string        // directory of job logs
	Images       string        // images directory (control script, functions, qcow2s)
	ControlCmd   string        // the control script
	Timeout      time.Duration // build timeout
	SetupTimeout time.Duration // setup-timeout (ours): boot until SSH answers
	BindAddress  string        // where a remote runner serves /logs
	TriggerFrom  string        // From: address of email triggers
	Concurrency  int           // concurrency (ours): jobs at once
	Arches       []string      // arches (ours): what this runner can run
	Means        string        // means (ours): qemu or docker
	Artifacts    string        // artifacts (ours): local artifact storage
	MemoryMiB    int           // memory (ours): guest memory
	CPUs         int           // cpus (ours): guest vCPUs
	// GuestNetwork is guest-network (ours): "contained" (default) shuts
	// guests off from the host, private ranges and each other; "open"
	// lets them reach the host's loopback (development only).
	GuestNetwork string
	// GuestAllow is guest-allow (ours): destinations contained guests may
	// still reach, each HOST:PORT, IPv4 address or IPv4 CIDR.
	GuestAllow []string
	// QemuUser is qemu-user (ours): the unprivileged user qemu runs as
	// when the runner runs as root.
	QemuUser string

	Limits Limits // per-job caps (limits.go)
}

// Default returns the configuration used when no file is given. dataDir
// may be "" to use the environment or the built-in location.
func Default() *Config {
	c := &Config{
		SiteName:         "builds",
		Listen:           "127.0.0.1:8080",
		MigrateOnUpgrade: true,
		LeaseTime:        time.Minute,
		StreamsPerClient: 16,
		SSHUser:          DefaultSSHUser,
		Mail:             Mail{SMTPPort: 587, SMTPEncryption: "starttls"},
		Worker: Worker{
			Timeout:      45 * time.Minute,
			SetupTimeout: 120 * time.Second,
			BindAddress:  "127.0.0.1:8081",
			Concurrency:  1,
			Arches:       []string{"amd64"},
			Means:        "qemu",
			MemoryMiB:    2048,
			CPUs:         2,
			GuestNetwork: "contained",
			QemuUser:     "builds-qemu",
		},
	}
	c.DataDir = defaultDataDir()
	c.defaultLimits()
	return c
}

// fillDerived fills settings whose defaults depend on others.
func (c *Config) fillDerived() {
	if c.Origin == "" {
		c.Origin = "http://" + c.Listen
	}
	if c.Worker.BuildLogs == "" {
		c.Worker.BuildLogs = filepath.Join(c.DataDir, "logs")
	}
	if c.Worker.Artifacts == "" {
		c.Worker.Artifacts = filepath.Join(c.DataDir, "artifacts")
	}
	if c.Worker.Images == "" {
		c.Worker.Images = DefaultImagesDir()
	}
	if c.Worker.ControlCmd == "" {
		c.Worker.ControlCmd = filepath.Join(c.Worker.Images, "control")
	}
	if c.Worker.Name == "" {
		c.Worker.Name = c.Worker.BindAddress
	}
	if c.Worker.TriggerFrom == "" {
		c.Worker.TriggerFrom = c.Mail.SMTPFrom
	}
}

func defaultDataDir() string {
	if d := os.Getenv(EnvData); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/var/lib/builds"
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "builds")
	}
	return "builds-data"
}

// DefaultImagesDir is the images/ directory of the source checkout the
// binary runs from (found from the working directory or the executable),
// or /var/lib/builds/images when there is none.
func DefaultImagesDir() string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			if fi, err := os.Stat(filepath.Join(d, "images", "control")); err == nil && !fi.IsDir() {
				return filepath.Join(d, "images")
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "/var/lib/builds/images"
}

// SQLitePath is the embedded database file used when no
// connection-string is configured.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "builds.db") }

// Distributed reports whether the master hands jobs to remote runners
// through Redis instead of running them in-process.
func (c *Config) Distributed() bool { return c.Redis != "" }
