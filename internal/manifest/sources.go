package manifest

import (
	"fmt"
	"net/url"
	"path"
	"strings"

	"gopkg.in/yaml.v3"
)

func (p *parser) sources(v *yaml.Node) {
	byDir := map[string]string{}
	p.list("sources", v, func(itemPath string, item *yaml.Node) {
		s, ok := p.text(itemPath, item)
		if !ok {
			return
		}
		src, err := ParseSource(s)
		if err != nil {
			p.errorf(item, itemPath, "%v", err)
			return
		}
		if other, dup := byDir[src.Dir]; dup {
			p.errorf(item, itemPath, "checks out into %q like %q, so the second clone would fail (on builds.sr.ht too); give one of them another directory with dir::url", src.Dir, other)
			return
		}
		byDir[src.Dir] = s
		p.m.Sources = append(p.m.Sources, src)
	})
}

// ParseSource parses one entry of the sources list, written
// [dir::][scm+]url[#ref]. scm is "git" (the default) or "hg". The #ref
// suffix is split off only when the URL holds exactly one '#'. Without
// dir::, the checkout directory is the URL's last path element without a
// ".git" suffix. The error message is fit to show to the user.
func ParseSource(s string) (Source, error) {
	var src Source
	if strings.ContainsAny(s, " \t\r\n\x00") {
		return src, fmt.Errorf("source %q must not contain spaces or line breaks", s)
	}
	rest := s
	// A "::" after a ':' belongs to the URL, e.g. an IPv6 host [::1].
	if i := strings.Index(rest, "::"); i >= 0 && !strings.Contains(rest[:i], ":") {
		src.Dir, rest = rest[:i], rest[i+2:]
		if src.Dir == "" {
			return src, fmt.Errorf("source %q has an empty directory before \"::\"", s)
		}
	}
	src.SCM = "git"
	if scm, after, ok := strings.Cut(rest, "+"); ok && isWord(scm) && strings.Contains(after, "://") {
		if scm != "git" && scm != "hg" {
			return src, fmt.Errorf("source %q: %q is not a version control system we clone, and builds.sr.ht would fail to clone it too; use git+ or hg+ (or clone it in a task)", s, scm)
		}
		src.SCM, rest = scm, after
	}
	if strings.Count(rest, "#") == 1 {
		rest, src.Ref, _ = strings.Cut(rest, "#")
		if src.Ref == "" || strings.HasPrefix(src.Ref, "-") {
			return src, fmt.Errorf("source %q: the ref after '#' must be a branch, tag or commit", s)
		}
	}
	src.URL = rest
	switch {
	case src.URL == "":
		return src, fmt.Errorf("source %q has no repository URL; write [dir::][git+|hg+]url[#ref]", s)
	case strings.HasPrefix(src.URL, "-"):
		return src, fmt.Errorf("source %q: a repository URL must not start with '-'", s)
	}
	return src, checkDir(s, &src)
}

// checkDir derives src.Dir from the URL when it is not given and makes
// sure it stays inside the build user's home.
func checkDir(s string, src *Source) error {
	if src.Dir == "" {
		src.Dir = strings.TrimSuffix(lastElement(src.URL), ".git")
		if src.Dir == "" || src.Dir == "." || src.Dir == ".." {
			return fmt.Errorf("source %q: cannot tell the checkout directory from the URL; name one with dir::url", s)
		}
		return nil
	}
	if strings.HasPrefix(src.Dir, "/") || strings.HasPrefix(src.Dir, "~") {
		return fmt.Errorf("source %q: directory %q must be relative to the build user's home", s, src.Dir)
	}
	clean := path.Clean(src.Dir)
	if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || strings.HasPrefix(clean, "-") {
		return fmt.Errorf("source %q: directory %q must be a directory inside the build user's home", s, src.Dir)
	}
	src.Dir = clean
	return nil
}

// lastElement returns the last path element of a repository URL, which
// may be a URL proper, an scp-like "user@host:path" or a plain path.
func lastElement(raw string) string {
	p := raw
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Opaque == "" {
		p = u.Path
	} else if i := strings.LastIndex(raw, ":"); i >= 0 {
		p = raw[i+1:]
	}
	p = strings.TrimRight(p, "/")
	if i := strings.LastIndex(p, "/"); i >= 0 {
		p = p[i+1:]
	}
	// A name starting with '-' or '~' would be read as an option or a
	// home directory by careless scripts; the user can name the directory.
	if strings.HasPrefix(p, "-") || strings.HasPrefix(p, "~") {
		return ""
	}
	return p
}

// isWord reports whether s is a non-empty run of ASCII letters.
func isWord(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return s != ""
}
