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
	return fmt.Sprintf("manifest is %d bytes, more than the limit of 16 KiB (%d bytes); "+
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
// Keys must be strings and appear once. A null n is an empty map.
func (p *parser) mapping(path string, n *yaml.Node, fn func(key string, k, v *yaml.Node)) {
	m := deref(n)
	if isNull(m) {
		return
	}
	if m.Kind != yaml.MappingNode {
		p.errorf(n, path, "must be a map of keys to values, not %s", kindName(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode || isNull(k) {
			p.errorf(k, path, "keys must be plain names, not %s", kindName(k))
			continue
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			p.errorf(k, join(path, "<<"), "merge keys (<<) are not supported; write the keys out")
			continue
		}
		if line, dup := seen[k.Value]; dup {
			p.errorf(k, join(path, k.Value), "key %q appears twice (first on line %d); keep only one", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		fn(k.Value, k, v)
	}
}

// join appends key to a key path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
