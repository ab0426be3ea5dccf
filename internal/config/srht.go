package config

import (
	"fmt"
	"slices"
	"strings"
)

// How files written for builds.sr.ht load: builds.sr.ht's own
// config.example.ini ships with empty values ("smtp-port=", "timeout=")
// and with sections of other sr.ht services, since sr.ht services share one
// file. An empty value means the default; a section or key we do not read
// is reported with one warning line each, so the operator sees at start
// what has no effect.

// secDispatch is git.sr.ht's dispatch section: builds.sr.ht reads the SSH
// user of its shell access from it, as "/path/to/buildsrht-keys=user:group".
const secDispatch = "git.sr.ht::dispatch"

// DefaultSSHUser is the SSH user shown to users when the file names none.
const DefaultSSHUser = "builds"

// ownSections are the sections this service reads.
var ownSections = []string{secSrht, secMail, secWebhooks, secBuilds, secWorker, secAPI, secDispatch}

// sshUser reads the SSH user from [git.sr.ht::dispatch] as builds.sr.ht
// does: the user part of the value of the key naming buildsrht-keys.
func (r *reader) sshUser(c *Config) {
	s, err := r.f.GetSection(secDispatch)
	if err != nil {
		return
	}
	for _, k := range s.Keys() {
		r.key(secDispatch, k.Name())
		if !strings.HasSuffix(k.Name(), "buildsrht-keys") {
			continue
		}
		user, _, _ := strings.Cut(strings.TrimSpace(k.String()), ":")
		if user = strings.TrimSpace(user); user != "" {
			c.SSHUser = user
		}
	}
}

// unusedSections warns once about each section that belongs to another
// service (e.g. [meta.sr.ht], [objects]).
func (r *reader) unusedSections() {
	for _, name := range r.f.SectionStrings() {
		if name == "DEFAULT" || slices.Contains(ownSections, name) {
			continue
		}
		r.warnings = append(r.warnings, fmt.Sprintf("[%s] is not used by builds; its settings are ignored", name))
	}
}

// ignoredKeys warns about each key builds.sr.ht files hold that we do not
// need, when it has a value: an empty one is the default either way. It
// runs after the keys we read were marked used, and before markIgnored.
func (r *reader) ignoredKeys() {
	for _, sec := range ownSections {
		s, err := r.f.GetSection(sec)
		if err != nil {
			continue
		}
		for _, k := range ignored[sec] {
			if !r.used[sec+"\x00"+k] && s.HasKey(k) && strings.TrimSpace(s.Key(k).String()) != "" {
				r.warnings = append(r.warnings, fmt.Sprintf("[%s] %s is a builds.sr.ht setting builds does not need; it is ignored", sec, k))
			}
		}
	}
}
