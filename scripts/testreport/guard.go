package main

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// guardRoots are the host directories that tests must not write to: a test
// writes under its t.TempDir() only.
var guardRoots = []string{"/etc", "/var", "/root"}

// guardIgnored are places under guardRoots that the system, the package
// manager or the tools the tests run (Go, dockerd, the image cache) own and
// change on their own; files appearing there are not the suite's doing.
var guardIgnored = []string{
	"/etc/ld.so.cache",
	"/var/backups", "/var/cache/apt", "/var/cache/builds", "/var/cache/debconf",
	"/var/cache/ldconfig", "/var/cache/man", "/var/lib/apt", "/var/lib/containerd",
	"/var/lib/dhcp", "/var/lib/docker", "/var/lib/dpkg", "/var/lib/man-db",
	"/var/lib/systemd", "/var/lib/ucf", "/var/log", "/var/mail", "/var/run",
	"/var/spool", "/var/tmp",
	"/root/.bash_history", "/root/.cache", "/root/.config/go", "/root/.docker",
	"/root/.lesshst", "/root/.npm", "/root/.viminfo", "/root/go",
}

// snapshot lists every path under guardRoots, except the ignored places.
// Unreadable directories are passed over.
func snapshot() map[string]bool {
	seen := map[string]bool{}
	for _, root := range guardRoots {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if ignored(p) {
				if d != nil && d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if err != nil {
				return nil
			}
			seen[p] = true
			return nil
		})
	}
	return seen
}

func ignored(p string) bool {
	for _, ig := range guardIgnored {
		if p == ig || strings.HasPrefix(p, ig+"/") {
			return true
		}
	}
	return false
}

// leftovers returns the paths in after that are not in before, without the
// contents of new directories (the directory stands for them).
func leftovers(before, after map[string]bool) []string {
	var added []string
	for p := range after {
		if !before[p] {
			added = append(added, p)
		}
	}
	slices.Sort(added)
	var top []string
	for _, p := range added {
		if len(top) > 0 && strings.HasPrefix(p, top[len(top)-1]+"/") {
			continue
		}
		top = append(top, p)
	}
	return top
}
