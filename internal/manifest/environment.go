package manifest

import (
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvFileName is the environment file's name in the build user's home. It
// is sourced at the start of every task, so a task may append NAME=value
// lines to it to hand values to the tasks after it.
const EnvFileName = ".buildenv"

// EnvVar is one environment variable. When IsList is true the variable is
// a bash array holding List, and Value is unused.
type EnvVar struct {
	Name   string
	Value  string
	List   []string
	IsList bool
}

// envName is what bash accepts as a variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// readonlyVars are set by bash itself and cannot be assigned.
var readonlyVars = map[string]bool{
	"BASHOPTS": true, "BASH_VERSINFO": true, "EUID": true,
	"PPID": true, "SHELLOPTS": true, "UID": true,
}

func (p *parser) environment(v *yaml.Node) {
	p.mapping("environment", v, func(name string, k, val *yaml.Node) {
		path := join("environment", name)
		switch {
		case !envName.MatchString(name):
			p.errorf(k, path, "%q is not a valid variable name: bash cannot export it, so builds.sr.ht would fail on it too; use letters, digits and '_', not starting with a digit", name)
			return
		case readonlyVars[name]:
			p.errorf(k, path, "%s is set by bash and cannot be changed, so builds.sr.ht would fail on it too; choose another name", name)
			return
		}
		if ev, ok := p.envValue(path, val); ok {
			ev.Name = name
			p.m.Environment = append(p.m.Environment, ev)
		}
	})
}

// envValue parses the value of an environment variable: a scalar or a
// list of scalars.
func (p *parser) envValue(path string, n *yaml.Node) (EnvVar, bool) {
	v := deref(n)
	switch v.Kind {
	case yaml.ScalarNode:
		s, ok := p.envScalar(path, n)
		return EnvVar{Value: s}, ok
	case yaml.SequenceNode:
		ev := EnvVar{IsList: true, List: []string{}}
		ok := true
		for i, item := range v.Content {
			if deref(item).Kind != yaml.ScalarNode {
				p.errorf(item, indexPath(path, i), "list values may hold only strings, numbers and booleans, not %s", kindName(item))
				ok = false
				continue
			}
			s, good := p.envScalar(indexPath(path, i), item)
			ev.List = append(ev.List, s)
			ok = ok && good
		}
		return ev, ok
	}
	p.errorf(n, path, "nested maps cannot be exported to a shell, so builds.sr.ht would fail on this too; use separate variables such as %s_KEY", path[len("environment."):])
	return EnvVar{}, false
}

// envScalar returns the text of a scalar environment value: strings and
// numbers exactly as written, booleans as true or false.
func (p *parser) envScalar(path string, n *yaml.Node) (string, bool) {
	v := deref(n)
	switch v.ShortTag() {
	case "!!null":
		// "NAME:" with no value is the empty string, as on builds.sr.ht.
		return "", true
	case "!!bool":
		return strings.ToLower(v.Value), true
	case "!!str", "!!int", "!!float", "!!timestamp":
		if strings.ContainsRune(v.Value, 0) {
			p.errorf(n, path, "must not contain NUL characters")
			return "", false
		}
		return v.Value, true
	}
	p.errorf(n, path, "must be a string, number or boolean, not %s", kindName(n))
	return "", false
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// EnvFile renders the manifest's environment, followed by extra, as a
// bash file to be written to ~/EnvFileName in the guest and sourced by
// every task. extra is for the values the runner sets (CI_NAME, JOB_ID,
// JOB_URL, OAUTH2_TOKEN...): a manifest variable of the same name is left
// out, so extra always wins. Extra variables whose names bash would not
// accept are left out as well, and NUL characters are dropped from values.
//
// Scalars become "export NAME='value'" lines. Lists become bash arrays,
// "NAME=( 'a' 'b' )"; bash cannot export arrays, so they are plain shell
// variables, seen by the task script itself but not by the programs it
// starts. Every value is single-quoted, so no value can run code.
func (m *Manifest) EnvFile(extra ...EnvVar) string {
	override := map[string]bool{}
	for _, e := range extra {
		override[e.Name] = true
	}
	var b strings.Builder
	b.WriteString("# The job's environment, sourced at the start of every task.\n")
	for _, e := range m.Environment {
		if !override[e.Name] {
			writeEnvVar(&b, e)
		}
	}
	for _, e := range extra {
		if envName.MatchString(e.Name) && !readonlyVars[e.Name] {
			writeEnvVar(&b, e)
		}
	}
	return b.String()
}

func writeEnvVar(b *strings.Builder, e EnvVar) {
	if !e.IsList {
		b.WriteString("export " + e.Name + "=" + shellQuote(e.Value) + "\n")
		return
	}
	b.WriteString(e.Name + "=(")
	for _, s := range e.List {
		b.WriteString(" " + shellQuote(s))
	}
	b.WriteString(" )\n")
}

// shellQuote quotes s for bash. Inside single quotes nothing is special
// except the single quote itself, which is written by closing the quotes,
// adding a backslash-escaped quote and opening the quotes again.
func shellQuote(s string) string {
	s = strings.ReplaceAll(s, "\x00", "")
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
