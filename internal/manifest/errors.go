package manifest

import (
	"fmt"
	"sort"
	"strings"

	"builds/internal/build"
)

// Problem is one thing wrong with a manifest.
type Problem struct {
	// Path names the offending value, e.g. "tasks[2]", "environment.FOO"
	// or "triggers[0].to"; "" for the document as a whole.
	Path string
	// Line and Column are 1-based positions in the YAML source; 0 when the
	// problem concerns the whole file (e.g. its size).
	Line, Column int
	// Message says what is wrong and how to fix it.
	Message string
}

// String formats the problem as "line L, column C: path: message",
// leaving out the parts that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d, column %d: ", p.Line, p.Column)
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Errors is the error Parse returns: every problem found in one manifest,
// in source order. It unwraps to a *build.Error with code build.EINVALID,
// so build.ErrorCode and build.ErrorMessage treat it as a user mistake.
type Errors struct {
	Problems []Problem
	// Warnings are the things Parse would have accepted but ignored; they
	// often explain a problem (e.g. "task" written for "tasks").
	Warnings []Problem
}

// Error joins the problems, then the warnings, one per line.
func (e *Errors) Error() string {
	lines := make([]string, 0, len(e.Problems)+len(e.Warnings))
	for _, p := range e.Problems {
		lines = append(lines, p.String())
	}
	for _, p := range e.Warnings {
		lines = append(lines, "warning: "+p.String())
	}
	return "invalid manifest: " + strings.Join(lines, "\n")
}

// Unwrap returns the problems as a *build.Error with code EINVALID.
func (e *Errors) Unwrap() error {
	return &build.Error{Code: build.EINVALID, Message: e.Error()}
}

// sortProblems orders problems by position; whole-file ones come first.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Column < ps[j].Column
	})
}

// suggest returns the valid key the user most likely meant by key, or "".
// It matches case-insensitively, by prefix (e.g. "env" for "environment")
// and by an edit distance of at most two.
func suggest(key string, valid []string) string {
	k := strings.ToLower(key)
	best, bestDist := "", 3
	for _, v := range valid {
		if k == v || (len(k) >= 3 && strings.HasPrefix(v, k)) {
			return v
		}
		if d := editDistance(k, v); d < bestDist {
			best, bestDist = v, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b in bytes;
// manifest keys are ASCII.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// unknownKeyMessage says that key is not one of valid, with a suggestion.
func unknownKeyMessage(key string, valid []string) string {
	msg := fmt.Sprintf("unknown key %q", key)
	if s := suggest(key, valid); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg + "; valid keys are " + strings.Join(valid, ", ")
}
