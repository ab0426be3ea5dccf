package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// sizeMessage explains why a manifest of n bytes is refused.
func sizeMessage(n int) string {
	return fmt.Sprintf("manifest is %d bytes, more than the limit of 64 KiB (%d bytes), which builds.sr.ht refuses too; "+
		"move long scripts into a file in your repository and run that file from a task", n, MaxSize)
}

// yamlLine picks the line number out of a yaml.v3 syntax error.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decode parses data as exactly one YAML document and returns its root
// node, or a problem saying why it cannot.
func decode(data []byte) (root *yaml.Node, prob *Problem) {
	// The YAML library is a large state machine fed with untrusted input;
	// should it ever panic, the user gets an error rather than the server
	// losing a goroutine.
	defer func() {
		if r := recover(); r != nil {
			root, prob = nil, &Problem{Message: fmt.Sprintf("cannot parse YAML: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Problem{Message: "manifest is empty; it needs at least an image and tasks, e.g. \"image: debian/bookworm\""}
		}
		return nil, syntaxProblem(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxProblem(err)
	default:
		return nil, &Problem{Line: next.Line, Column: next.Column,
			Message: "manifest holds more than one YAML document; remove the second \"---\" and what follows it"}
	}
	return doc.Content[0], nil
}

// syntaxProblem turns a yaml.v3 error into a problem with a line number
// when the error names one.
func syntaxProblem(err error) *Problem {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return &Problem{Message: "invalid YAML: " + err.Error()}
	}
	line, _ := strconv.Atoi(m[1])
	return &Problem{Line: line, Column: 1, Message: "invalid YAML: " + m[2]}
}

// parser collects the problems found while filling in a manifest.
type parser struct {
	m        *Manifest
	problems []Problem
	warnings []Problem
	// merged counts the nodes merge keys have expanded, bounded by
	// maxMerged: aliases make each expansion cheap to write, so without
	// a bound a small manifest could make the parser work for hours.
	merged int
}

// warnf records a warning at node n: something accepted but ignored.
func (p *parser) warnf(n *yaml.Node, path, format string, args ...any) {
	p.warnings = append(p.warnings, Problem{
		Path: path, Line: n.Line, Column: n.Column, Message: fmt.Sprintf(format, args...),
	})
}

// errorf records a problem at node n.
func (p *parser) errorf(n *yaml.Node, path, format string, args ...any) {
	p.problems = append(p.problems, Problem{
		Path: path, Line: n.Line, Column: n.Column, Message: fmt.Sprintf(format, args...),
	})
}

// deref follows an alias (*name) to the node its anchor marks.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}

// kindName names the YAML type of n for error messages.
func kindName(n *yaml.Node) string {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "empty"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		case "!!str":
			return "a string"
		}
		return "a value tagged " + n.ShortTag()
	}
	return "something else"
}

// isNull reports whether n is an empty value (nothing, "~" or "null").
func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// text returns the text of a scalar that reads as a string: strings, and
// numbers and timestamps exactly as written. Anything else is a problem
// reported at path, and ok is false.
func (p *parser) text(path string, n *yaml.Node) (s string, ok bool) {
	v := deref(n)
	if v.Kind == yaml.ScalarNode {
		switch v.ShortTag() {
		case "!!str", "!!int", "!!float", "!!timestamp":
			return v.Value, true
		}
	}
	p.errorf(n, path, "must be a string, not %s", kindName(n))
	return "", false
}

// list calls fn for each item of the sequence n. A null n is an empty
// list; anything else that is not a sequence is a problem.
func (p *parser) list(path string, n *yaml.Node, fn func(path string, item *yaml.Node)) {
	v := deref(n)
	if isNull(v) {
		return
	}
	if v.Kind != yaml.SequenceNode {
		p.errorf(n, path, "must be a list, not %s", kindName(n))
		return
	}
	for i, item := range v.Content {
		fn(fmt.Sprintf("%s[%d]", path, i), item)
	}
}

// mapping calls fn for each key/value pair of the mapping n, in order.
// Keys must be strings and appear once. A null n is an empty map. Merge
// keys ("<<: *anchor") are applied as YAML 1.1 defines them and as
// builds.sr.ht reads them: the merged map's keys come first, and a key
// written in n itself overrides a merged one.
func (p *parser) mapping(path string, n *yaml.Node, fn func(key string, k, v *yaml.Node)) {
	m := deref(n)
	if isNull(m) {
		return
	}
	if m.Kind != yaml.MappingNode {
		p.errorf(n, path, "must be a map of keys to values, not %s", kindName(n))
		return
	}
	own := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && !isMerge(k) {
			own[k.Value] = true
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode || isNull(k):
			p.errorf(k, path, "keys must be plain names, not %s", kindName(k))
		case isMerge(k):
			p.merge(path, v, own, seen, fn, 0)
		case seen[k.Value] > 0:
			p.errorf(k, join(path, k.Value), "key %q appears twice (first on line %d); keep only one", k.Value, seen[k.Value])
		default:
			seen[k.Value] = k.Line
			fn(k.Value, k, v)
		}
	}
}

// isMerge reports whether k is the YAML merge key "<<".
func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

// maxMergeDepth bounds merges of maps that merge other maps.
const maxMergeDepth = 8

// maxMerged bounds the nodes all merge keys of one manifest expand.
const maxMerged = 10000

// merge calls fn for the keys of the map (or list of maps) v that are not
// in own and were not merged already.
func (p *parser) merge(path string, v *yaml.Node, own map[string]bool, seen map[string]int, fn func(key string, k, v *yaml.Node), depth int) {
	src := deref(v)
	if p.merged > maxMerged {
		return // reported once already
	}
	if depth > maxMergeDepth {
		p.errorf(v, join(path, "<<"), "merge keys nest more than %d deep; write the keys out", maxMergeDepth)
		p.merged = maxMerged + 1
		return
	}
	p.merged += 1 + len(src.Content)
	if p.merged > maxMerged {
		p.errorf(v, join(path, "<<"), "merge keys expand to more than %d values; write the keys out", maxMerged)
		return
	}
	switch src.Kind {
	case yaml.SequenceNode:
		for _, item := range src.Content {
			p.merge(path, item, own, seen, fn, depth+1)
		}
		return
	case yaml.MappingNode:
	default:
		p.errorf(v, join(path, "<<"), "a merge key (<<) takes a map or a list of maps, not %s", kindName(v))
		return
	}
	for i := 0; i+1 < len(src.Content); i += 2 {
		k, val := src.Content[i], src.Content[i+1]
		switch {
		case isMerge(k):
			p.merge(path, val, own, seen, fn, depth+1)
		case k.Kind != yaml.ScalarNode || isNull(k) || own[k.Value] || seen[k.Value] > 0:
		default:
			seen[k.Value] = k.Line
			fn(k.Value, k, val)
		}
	}
}

// join appends key to a key path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
