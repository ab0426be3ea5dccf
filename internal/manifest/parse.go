package manifest

import (
	"path"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"builds/internal/build"
)

// document fills in p.m from the root node of the manifest.
func (p *parser) document(root *yaml.Node) {
	if deref(root).Kind != yaml.MappingNode {
		p.errorf(root, "", "manifest must be a map of keys such as image and tasks, not %s", kindName(root))
		return
	}
	var image, tasks *yaml.Node
	p.mapping("", root, func(key string, k, v *yaml.Node) {
		switch key {
		case "image":
			image = v
		case "tasks":
			tasks = v
		}
		p.topKey(key, k, v)
	})
	if image == nil {
		p.errorf(root, "", "missing key \"image\"; add one, e.g. \"image: debian/bookworm\"")
	}
	switch {
	case p.m.Shell:
	case tasks == nil:
		p.errorf(root, "", "missing key \"tasks\"; it is required unless \"shell: true\" is set")
	case len(p.m.Tasks) == 0 && !p.hasProblemAt("tasks"):
		p.errorf(tasks, "tasks", "is empty; add a task or set \"shell: true\"")
	}
}

// hasProblemAt reports whether a problem was recorded at path or below.
func (p *parser) hasProblemAt(path string) bool {
	for _, pr := range p.problems {
		if pr.Path == path || strings.HasPrefix(pr.Path, path+"[") || strings.HasPrefix(pr.Path, path+".") {
			return true
		}
	}
	return false
}

// topKey parses the value of one top-level key.
func (p *parser) topKey(key string, k, v *yaml.Node) {
	switch key {
	case "image":
		p.image(v)
	case "arch":
		p.arch(v)
	case "packages":
		p.packages(v)
	case "repositories":
		p.repositories(v)
	case "sources":
		p.sources(v)
	case "environment":
		p.environment(v)
	case "secrets":
		p.secrets(v)
	case "shell":
		p.shell(v)
	case "tasks":
		p.tasks(v)
	case "triggers":
		p.triggers(v)
	case "artifacts":
		p.artifacts(v)
	case "oauth":
		p.oauth(v)
	default:
		p.warnf(k, key, "%s; it is ignored", unknownKeyMessage(key, topKeys))
	}
}

// namePart is one part of an image name, and also the shape of an arch.
var namePart = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

func (p *parser) image(v *yaml.Node) {
	s, ok := p.text("image", v)
	if !ok {
		return
	}
	distro, release, _ := strings.Cut(s, "/")
	if !namePart.MatchString(distro) || (strings.Contains(s, "/") && !namePart.MatchString(release)) {
		p.errorf(v, "image", "%q is not an image name; write distro/release (e.g. debian/bookworm) or a distro alone (e.g. archlinux), in lowercase letters, digits, '.', '_' and '-'", s)
		return
	}
	p.m.Image, p.m.Distro, p.m.Release = s, distro, release
}

func (p *parser) arch(v *yaml.Node) {
	s, ok := p.text("arch", v)
	if !ok {
		return
	}
	if !namePart.MatchString(s) {
		p.errorf(v, "arch", "%q is not an architecture name, e.g. amd64 or arm64", s)
		return
	}
	p.m.Arch = s
}

func (p *parser) shell(v *yaml.Node) {
	b := deref(v)
	if b.Kind != yaml.ScalarNode || b.ShortTag() != "!!bool" {
		p.errorf(v, "shell", "must be true or false, not %s", kindName(v))
		return
	}
	p.m.Shell = b.Value == "true" || b.Value == "True" || b.Value == "TRUE"
}

func (p *parser) oauth(v *yaml.Node) {
	s, ok := p.text("oauth", v)
	if !ok {
		return
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' })
	if len(fields) == 0 {
		p.errorf(v, "oauth", "is empty; list grants such as \"JOBS:RO LOGS:RO\", or remove the key")
		return
	}
	var ours []build.Grant
	for _, f := range fields {
		if service, _, found := strings.Cut(f, "/"); found && service != ownService {
			p.m.OAuthForeign = append(p.m.OAuthForeign, f)
			continue
		}
		gs, err := build.ParseGrants(f)
		if err != nil {
			p.errorf(v, "oauth", "%s (builds.sr.ht cannot grant it either); write grants as [service/]SCOPE:RO or SCOPE:RW", build.ErrorMessage(err))
			return
		}
		ours = append(ours, gs...)
	}
	p.m.OAuth = build.FormatGrants(ours)
	if len(p.m.OAuthForeign) > 0 {
		p.warnf(v, "oauth", "grants for other services (%s) are not granted: this service issues tokens for its own API only",
			strings.Join(p.m.OAuthForeign, " "))
	}
}

// ownService is the service name grants for this service may be prefixed
// with, as on builds.sr.ht.
const ownService = "builds.sr.ht"

// packageBad matches characters that appear in no package name or version
// constraint of any distro we support, but that a shell would interpret.
// Each package is quoted on its way to the package manager, so '<', '>'
// and '=' of a version constraint ("python3>=3.10") pass as they are.
var packageBad = regexp.MustCompile("[;&|$`'\"\\\\()*?\\[\\]{}!#]|[\\x00-\\x08\\x0e-\\x1f\\x7f]")

// packages reads the package list. An item holding spaces is split into
// several packages, as builds.sr.ht does when it hands the list to the
// package manager.
func (p *parser) packages(v *yaml.Node) {
	p.list("packages", v, func(path string, item *yaml.Node) {
		s, ok := p.text(path, item)
		if !ok {
			return
		}
		names := strings.Fields(s)
		if len(names) == 0 {
			p.errorf(item, path, "package name is empty; remove the item")
			return
		}
		for _, name := range names {
			switch {
			case strings.HasPrefix(name, "-"):
				p.errorf(item, path, "%q is not a package name: it must not start with '-' (the package manager would read it as an option on builds.sr.ht too)", name)
			case packageBad.MatchString(name):
				p.errorf(item, path, "%q is not a package name: remove the shell characters (builds.sr.ht's package manager would fail on it too)", name)
			default:
				p.m.Packages = append(p.m.Packages, name)
			}
		}
	})
}

// repoName is what an extra repository may be called: it becomes a file
// name in the guest (e.g. /etc/apt/sources.list.d/NAME.list).
var repoName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func (p *parser) repositories(v *yaml.Node) {
	p.mapping("repositories", v, func(key string, k, val *yaml.Node) {
		path := join("repositories", key)
		if !repoName.MatchString(key) {
			p.errorf(k, path, "repository name %q must be letters, digits, '.', '_' and '-'", key)
			return
		}
		s, ok := p.text(path, val)
		switch {
		case !ok:
		case strings.TrimSpace(s) == "":
			p.errorf(val, path, "repository source is empty; builds.sr.ht would fail to add it too; give its URL and the fields the image expects, or remove it")
		case strings.ContainsRune(s, 0):
			p.errorf(val, path, "repository source must not contain NUL characters")
		default:
			// A folded (">") or multi-line value is one line with line
			// breaks in it; the image's add_repository wants the line.
			src := strings.TrimSpace(s)
			if strings.ContainsAny(src, "\r\n") {
				src = strings.Join(strings.Fields(src), " ")
			}
			p.m.Repositories = append(p.m.Repositories, Repository{Name: key, Source: src})
		}
	})
}

func (p *parser) secrets(v *yaml.Node) {
	seen := map[string]bool{}
	p.list("secrets", v, func(path string, item *yaml.Node) {
		s, ok := p.text(path, item)
		switch {
		case !ok:
		case s == "" || strings.ContainsAny(s, " \t\r\n\x00"):
			p.errorf(item, path, "%q is not a secret UUID or name (builds.sr.ht would not find it either); list the UUID or name of one of your secrets", s)
		case seen[s]:
			p.warnf(item, path, "secret %q is listed twice; it is installed once", s)
		default:
			seen[s] = true
			p.m.Secrets = append(p.m.Secrets, s)
		}
	})
}

func (p *parser) artifacts(v *yaml.Node) {
	byBase := map[string]string{}
	p.list("artifacts", v, func(itemPath string, item *yaml.Node) {
		s, ok := p.text(itemPath, item)
		if !ok {
			return
		}
		rel, msg := artifactPath(s)
		if msg != "" {
			p.errorf(item, itemPath, "artifact %q %s", s, msg)
			return
		}
		base := path.Base(rel)
		if other, dup := byBase[base]; dup {
			p.errorf(item, itemPath, "artifact %q has the same file name as %q; artifact file names must be unique", s, other)
			return
		}
		byBase[base] = s
		p.m.Artifacts = append(p.m.Artifacts, rel)
	})
}

// artifactPath cleans an artifact path: absolute paths stay absolute
// (builds.sr.ht accepts them), others become relative to the build user's
// home. It says why when the path names no file.
func artifactPath(s string) (clean, msg string) {
	if strings.ContainsAny(s, "\x00\r\n") {
		return "", "must be one line"
	}
	t := strings.TrimPrefix(s, "~/")
	if strings.HasPrefix(t, "~") {
		return "", "must be absolute or relative to the build user's home (e.g. \"~/project/out.tar.gz\"); another user's ~ is not expanded"
	}
	if t == "" || strings.HasSuffix(t, "/") {
		return "", "must name a file, not a directory (builds.sr.ht could not upload it either); archive a directory with tar in a task"
	}
	if strings.HasPrefix(t, "/") {
		if clean = path.Clean(t); clean == "/" {
			return "", "must name a file"
		}
		return clean, ""
	}
	clean = path.Clean(t)
	if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", "must stay inside the build user's home, or be an absolute path"
	}
	return clean, ""
}
