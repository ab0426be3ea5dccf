package config

import "net"

// apply copies every known key of the file into c.
func (r *reader) apply(c *Config) {
	r.str(&c.SiteName, secSrht, "site-name")
	r.str(&c.OwnerName, secSrht, "owner-name")
	r.str(&c.OwnerEmail, secSrht, "owner-email")
	r.str(&c.NetworkKey, secSrht, "network-key")
	r.str(&c.PrivateRedis, secSrht, "redis-host")

	r.str(&c.Origin, secBuilds, "origin")
	r.str(&c.Listen, secBuilds, "listen")
	r.debugListen(c)
	r.str(&c.DataDir, secBuilds, "data-dir")
	r.str(&c.ConnectionString, secBuilds, "connection-string")
	r.boolean(&c.MigrateOnUpgrade, secBuilds, "migrate-on-upgrade")
	r.str(&c.Redis, secBuilds, "redis")
	r.duration(&c.LeaseTime, secBuilds, "lease-time")
	r.integer(&c.StreamsPerClient, secBuilds, "streams-per-client", 0)
	r.boolean(&c.AllowFree, secBuilds, "allow-free")
	r.str(&c.Shell, secBuilds, "shell")
	// The runner keys of the older single-section layout.
	r.str(&c.Worker.Images, secBuilds, "images")
	r.str(&c.Worker.BuildLogs, secBuilds, "buildlogs")
	r.str(&c.Worker.Name, secBuilds, "runner")

	r.str(&c.Mail.SMTPHost, secMail, "smtp-host")
	r.integer(&c.Mail.SMTPPort, secMail, "smtp-port", 1)
	r.str(&c.Mail.SMTPUser, secMail, "smtp-user")
	r.str(&c.Mail.SMTPPassword, secMail, "smtp-password")
	r.str(&c.Mail.SMTPFrom, secMail, "smtp-from")
	r.str(&c.Mail.SMTPEncryption, secMail, "smtp-encryption")

	r.str(&c.Webhooks.PrivateKey, secWebhooks, "private-key")

	w := &c.Worker
	r.str(&w.Name, secWorker, "name")
	r.str(&w.BuildLogs, secWorker, "buildlogs")
	r.str(&w.Images, secWorker, "images")
	r.str(&w.ControlCmd, secWorker, "controlcmd")
	r.duration(&w.Timeout, secWorker, "timeout")
	r.duration(&w.SetupTimeout, secWorker, "setup-timeout")
	r.str(&w.BindAddress, secWorker, "bind-address")
	r.str(&w.TriggerFrom, secWorker, "trigger-from")
	r.integer(&w.Concurrency, secWorker, "concurrency", 1)
	r.list(&w.Arches, secWorker, "arches")
	r.str(&w.Means, secWorker, "means")
	r.str(&w.Artifacts, secWorker, "artifacts")
	r.integer(&w.MemoryMiB, secWorker, "memory", 1)
	r.integer(&w.CPUs, secWorker, "cpus", 1)
	r.str(&w.GuestNetwork, secWorker, "guest-network")
	r.list(&w.GuestAllow, secWorker, "guest-allow")
	r.str(&w.QemuUser, secWorker, "qemu-user")
	r.applyLimits(c)
	r.sshUser(c)
	r.ignoredKeys()
	r.markIgnored()
	r.unsupportedS3()
	r.unusedSections()
	r.unknownKeys()
}

// debugListen derives the listen address from builds.sr.ht's debug-host
// and debug-port keys when the file has them and no listen key.
func (r *reader) debugListen(c *Config) {
	if _, ok := r.key(secBuilds, "listen"); ok {
		return
	}
	host, port := "127.0.0.1", ""
	r.str(&host, secBuilds, "debug-host")
	r.str(&port, secBuilds, "debug-port")
	if port != "" {
		c.Listen = net.JoinHostPort(host, port)
	}
}

// ignored lists keys builds.sr.ht files commonly hold that we accept and do
// not need, so they raise no warning.
var ignored = map[string][]string{
	secSrht:   {"environment", "global-domain", "service-key", "assets", "source-url", "owner-name", "owner-email", "site-info", "site-blurb", "api-origin"},
	secBuilds: {"oauth-client-id", "oauth-client-secret", "api-origin", "webhooks", "private-key"},
	secMail:   {"error-to", "error-from", "pgp-privkey", "pgp-pubkey", "pgp-key-id"},
	secAPI:    {"internal-ipnet"},
}

func (r *reader) markIgnored() {
	for sec, keys := range ignored {
		for _, k := range keys {
			r.key(sec, k)
		}
	}
}

// unsupportedS3 warns that S3 artifact settings are read past: artifacts
// are kept on the runner's disk under [builds.sr.ht::worker] artifacts.
func (r *reader) unsupportedS3() {
	for _, k := range []string{"s3-upstream", "s3-access-key", "s3-secret-key", "s3-bucket", "s3-prefix", "s3-insecure"} {
		if _, ok := r.key(secWorker, k); ok {
			r.warnings = append(r.warnings, "["+secWorker+"] "+k+": S3 artifact storage is not supported; artifacts are kept in the directory named by 'artifacts'")
		}
	}
}
