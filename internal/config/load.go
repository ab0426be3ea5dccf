package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/ini.v1"
)

// Section names.
const (
	secSrht     = "sr.ht"
	secMail     = "mail"
	secWebhooks = "webhooks"
	secBuilds   = "builds.sr.ht"
	secWorker   = "builds.sr.ht::worker"
)

// Load reads the file at path, or runs on defaults when path is "" and
// BUILDS_CONFIG is unset. Every bad value is reported at once, each naming
// its section, key and what is accepted.
func Load(path string) (*Config, error) {
	if path == "" {
		path = os.Getenv(EnvFile)
	}
	c := Default()
	if path == "" {
		c.fillDerived()
		return c, nil
	}
	f, err := ini.LoadSources(ini.LoadOptions{
		Insensitive:              false,
		AllowBooleanKeys:         true,
		SpaceBeforeInlineComment: true,
	}, path)
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	c.Path = path
	r := &reader{f: f}
	r.apply(c)
	c.fillDerived()
	r.validate(c)
	c.Warnings = r.warnings
	if len(r.errs) > 0 {
		return nil, &Error{Path: path, Problems: r.errs}
	}
	return c, nil
}

// Error lists every problem found in one configuration file.
type Error struct {
	Path     string
	Problems []string
}

func (e *Error) Error() string {
	return fmt.Sprintf("config %s:\n  %s", e.Path, strings.Join(e.Problems, "\n  "))
}

// reader pulls typed values out of the file, collecting errors and noting
// which keys were used so unknown ones can be reported.
type reader struct {
	f        *ini.File
	errs     []string
	warnings []string
	used     map[string]bool
}

// key returns the key name of section sec and marks it used. A key with an
// empty value ("smtp-port=", as builds.sr.ht's example file ships) counts
// as absent, so the default applies.
func (r *reader) key(sec, name string) (*ini.Key, bool) {
	if r.used == nil {
		r.used = map[string]bool{}
	}
	r.used[sec+"\x00"+name] = true
	s, err := r.f.GetSection(sec)
	if err != nil || !s.HasKey(name) || strings.TrimSpace(s.Key(name).String()) == "" {
		return nil, false
	}
	return s.Key(name), true
}

func (r *reader) bad(sec, name, val, accepted string) {
	r.errs = append(r.errs, fmt.Sprintf("[%s] %s = %q: %s", sec, name, val, accepted))
}

func (r *reader) str(dst *string, sec, name string) {
	if k, ok := r.key(sec, name); ok {
		*dst = strings.TrimSpace(k.String())
	}
}

func (r *reader) boolean(dst *bool, sec, name string) {
	k, ok := r.key(sec, name)
	if !ok {
		return
	}
	switch strings.ToLower(strings.TrimSpace(k.String())) {
	case "yes", "true", "on", "1":
		*dst = true
	case "no", "false", "off", "0":
		*dst = false
	default:
		r.bad(sec, name, k.String(), "expected yes or no")
	}
}

func (r *reader) integer(dst *int, sec, name string, min int) {
	k, ok := r.key(sec, name)
	if !ok {
		return
	}
	n, err := strconv.Atoi(strings.TrimSpace(k.String()))
	if err != nil || n < min {
		r.bad(sec, name, k.String(), fmt.Sprintf("expected a whole number of at least %d", min))
		return
	}
	*dst = n
}

// duration accepts Go durations ("45m", "1h30m") and, as builds.sr.ht's
// files often hold, a bare number of seconds.
func (r *reader) duration(dst *time.Duration, sec, name string) {
	k, ok := r.key(sec, name)
	if !ok {
		return
	}
	v := strings.TrimSpace(k.String())
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		*dst = time.Duration(n) * time.Second
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.bad(sec, name, v, `expected a positive duration such as "45m", "90s" or a number of seconds`)
		return
	}
	*dst = d
}

func (r *reader) list(dst *[]string, sec, name string) {
	if k, ok := r.key(sec, name); ok {
		*dst = strings.FieldsFunc(k.String(), func(r rune) bool { return r == ',' || r == ' ' })
	}
}

// unknownKeys warns about keys in our sections that nothing reads: a
// typo there would otherwise be silently ignored. Other sections belong to
// other sr.ht services sharing the file and are left alone.
func (r *reader) unknownKeys() {
	for _, sec := range ownSections {
		s, err := r.f.GetSection(sec)
		if err != nil {
			continue
		}
		var unknown []string
		for _, k := range s.KeyStrings() {
			if !r.used[sec+"\x00"+k] {
				unknown = append(unknown, k)
			}
		}
		sort.Strings(unknown)
		for _, k := range unknown {
			r.warnings = append(r.warnings, fmt.Sprintf("[%s] %s is not used by builds; check its spelling", sec, k))
		}
	}
}

func (r *reader) validate(c *Config) {
	if _, err := url.ParseRequestURI(c.Origin); err != nil || !strings.HasPrefix(c.Origin, "http") {
		r.bad(secBuilds, "origin", c.Origin, "expected an http:// or https:// URL such as https://builds.example.org")
	}
	for _, hp := range []struct{ sec, key, val string }{
		{secBuilds, "listen", c.Listen},
		{secWorker, "bind-address", c.Worker.BindAddress},
	} {
		if _, _, err := net.SplitHostPort(hp.val); err != nil {
			r.bad(hp.sec, hp.key, hp.val, "expected HOST:PORT such as 127.0.0.1:8080")
		}
	}
	switch c.Worker.Means {
	case "qemu", "docker":
	default:
		r.bad(secWorker, "means", c.Worker.Means, "expected qemu or docker")
	}
	switch c.Worker.GuestNetwork {
	case "contained", "open":
	default:
		r.bad(secWorker, "guest-network", c.Worker.GuestNetwork, "expected contained or open")
	}
	for _, a := range c.Worker.GuestAllow {
		if msg := checkGuestAllow(a); msg != "" {
			r.bad(secWorker, "guest-allow", a, msg)
		}
	}
	if c.Worker.QemuUser == "" || c.Worker.QemuUser == "root" || c.Worker.QemuUser == "0" {
		r.bad(secWorker, "qemu-user", c.Worker.QemuUser, "expected an unprivileged user such as builds-qemu")
	}
	switch c.Mail.SMTPEncryption {
	case "tls", "starttls", "insecure":
	default:
		r.bad(secMail, "smtp-encryption", c.Mail.SMTPEncryption, "expected tls, starttls or insecure")
	}
	if c.Worker.MemoryMiB < 256 {
		r.bad(secWorker, "memory", strconv.Itoa(c.Worker.MemoryMiB), "expected at least 256 (MiB)")
	}
	r.validateLimits(c)
	if c.Distributed() && c.NetworkKey == "" {
		r.bad(secSrht, "network-key", "", "required when [builds.sr.ht] redis is set: several hosts must share the key that encrypts secrets; generate one with `builds key generate`")
	}
}

// checkGuestAllow says what is wrong with a guest-allow entry, or "".
func checkGuestAllow(a string) string {
	const want = "expected HOST:PORT, an IPv4 address or an IPv4 CIDR, such as builds.example.org:443 or 203.0.113.0/24"
	if _, n, err := net.ParseCIDR(a); err == nil {
		if n.IP.To4() == nil {
			return "IPv6 is not supported (guests have IPv4 only); " + want
		}
		return ""
	}
	if ip := net.ParseIP(a); ip != nil {
		if ip.To4() == nil {
			return "IPv6 is not supported (guests have IPv4 only); " + want
		}
		return ""
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "" || strings.Contains(host, ":") {
		return want
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "bad port; " + want
	}
	for _, r := range host {
		if !(r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "bad host name; " + want
		}
	}
	return ""
}

// IsConfigError reports whether err came from a bad configuration file.
func IsConfigError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
