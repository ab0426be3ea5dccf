package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"builds/internal/api/graph"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"golang.org/x/sync/semaphore"
)

// Limits bound what one GraphQL request may cost. Zero fields take the
// defaults of DefaultLimits.
type Limits struct {
	// MaxComplexity is the cost an operation may have, counted before it
	// runs: 1 per field, LogCost per log text field, and, for a list whose
	// items select log text, the items' cost times the list's usual length.
	MaxComplexity int
	// MaxDepth is how deeply selections may nest.
	MaxDepth int
	// MaxDuration bounds each request's run.
	MaxDuration time.Duration
	// MaxLogBytes is the log text one response may carry in all; log
	// fields past it answer an error that names the log's fullURL.
	MaxLogBytes int64
	// LogBytesInFlight is the log text all requests together may hold at
	// once; a request waits for room until its MaxDuration ends.
	LogBytesInFlight int64
}

// DefaultLimits are builds.sr.ht's request bounds (complexity 250, 3 s),
// plus a depth and log size bounds of ours.
var DefaultLimits = Limits{
	MaxComplexity: 250, MaxDepth: 16, MaxDuration: 3 * time.Second,
	MaxLogBytes: 1 << 20, LogBytesInFlight: 8 << 20,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxComplexity > 0 {
		d.MaxComplexity = l.MaxComplexity
	}
	if l.MaxDepth > 0 {
		d.MaxDepth = l.MaxDepth
	}
	if l.MaxDuration > 0 {
		d.MaxDuration = l.MaxDuration
	}
	if l.MaxLogBytes > 0 {
		d.MaxLogBytes = l.MaxLogBytes
	}
	if l.LogBytesInFlight > 0 {
		d.LogBytesInFlight = l.LogBytesInFlight
	}
	return d
}

// tailBytes is the size of the log text field last128KiB.
const tailBytes = 128 << 10

// LogCost is the complexity of one last128KiB field: a point per 4 KiB of
// log text it may carry.
const LogCost = tailBytes / (4 << 10)

// Usual lengths of the lists whose items select log text.
const (
	usualTasks     = 5
	usualGroupJobs = 5
)

// setComplexity gives the fields that can carry log text their cost.
func setComplexity(c *graph.ComplexityRoot) {
	c.Log.Last128KiB = func(int) int { return LogCost }
	c.Job.Tasks = listCost(usualTasks)
	c.JobGroup.Jobs = listCost(usualGroupJobs)
	c.JobCursor.Results = listCost(pageSize)
}

// listCost is the complexity of a list field: its items' cost once when
// they select no log text, times n (the list's usual length) when they do.
func listCost(n int) func(child int) int {
	return func(child int) int {
		if child < LogCost {
			return child + 1
		}
		return child*n + 1
	}
}

// depthLimit refuses operations whose selections nest deeper than max.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (d depthLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if n := selectionDepth(oc.Operation.SelectionSet, d.max+1); n > d.max {
		err := gqlerror.Errorf("operation nests more than %d levels of selections; split it into several requests", d.max)
		err.Extensions = map[string]any{"code": "DEPTH_LIMIT_EXCEEDED"}
		return err
	}
	if schemaFanout(oc.Operation.SelectionSet, false, 0) > 1 {
		err := gqlerror.Errorf("introspection may select fields, inputFields, interfaces or possibleTypes of a type only once on a path; ask for the types you need by name with __type")
		err.Extensions = map[string]any{"code": "DEPTH_LIMIT_EXCEEDED"}
		return err
	}
	return nil
}

// fanoutFields are the introspection lists that lead from a type to more
// types: nesting them multiplies the answer's size with every level.
var fanoutFields = map[string]bool{"fields": true, "inputFields": true, "interfaces": true, "possibleTypes": true}

// schemaFanout returns the most fanoutFields found on one path of set
// below an introspection field (__schema or __type); n is the count so
// far.
func schemaFanout(set ast.SelectionSet, intro bool, n int) int {
	most := n
	for _, s := range set {
		var sub ast.SelectionSet
		in, k := intro, n
		switch s := s.(type) {
		case *ast.Field:
			sub = s.SelectionSet
			in = intro || strings.HasPrefix(s.Name, "__")
			if in && fanoutFields[s.Name] {
				k++
			}
		case *ast.InlineFragment:
			sub = s.SelectionSet
		case *ast.FragmentSpread:
			if s.Definition != nil {
				sub = s.Definition.SelectionSet
			}
		}
		if k > 1 {
			return k
		}
		most = max(most, schemaFanout(sub, in, k))
		if most > 1 {
			return most
		}
	}
	return most
}

// selectionDepth returns how deeply set nests, counting no further than
// stop (so that a long chain costs nothing past the limit).
func selectionDepth(set ast.SelectionSet, stop int) int {
	if stop <= 0 || len(set) == 0 {
		return 0
	}
	deepest := 0
	for _, s := range set {
		var n int
		switch s := s.(type) {
		case *ast.Field:
			n = 0
			if len(s.SelectionSet) > 0 {
				n = selectionDepth(s.SelectionSet, stop-1)
			}
			n++
		case *ast.InlineFragment:
			n = selectionDepth(s.SelectionSet, stop)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				n = selectionDepth(s.Definition.SelectionSet, stop)
			}
		}
		deepest = max(deepest, n)
		if deepest >= stop {
			break
		}
	}
	return deepest
}

// logBudget is the log text one request may still carry, and the share
// of the process-wide allowance it holds until the response is written.
type logBudget struct {
	mu     sync.Mutex
	left   int64
	max    int64
	held   int64
	global *semaphore.Weighted
}

type budgetKey struct{}

// bounded runs each request with a deadline and a log budget, and gives
// the budget's hold on the process-wide allowance back once the response
// is written.
func (s *server) bounded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.limits.MaxDuration)
		defer cancel()
		// A client that sends its body slowly is cut off too; the deadline
		// passes only after the handler returned.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.limits.MaxDuration + 5*time.Second))
		b := &logBudget{left: s.limits.MaxLogBytes, max: s.limits.MaxLogBytes, global: s.logBytes}
		defer b.release()
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, budgetKey{}, b)))
	})
}

// take reserves n bytes of log text for the response. It fails when the
// response would pass its limit, or when the process-wide allowance has
// no room before ctx ends.
func (b *logBudget) take(ctx context.Context, n int64) error {
	b.mu.Lock()
	if n > b.left {
		b.mu.Unlock()
		return fmt.Errorf("this response already carries the %s of log text one response may hold; fetch the log from its fullURL instead", sizeString(b.max))
	}
	b.left -= n
	b.mu.Unlock()
	// The wait happens unlocked, so that the request's other fields can
	// give back what they did not use meanwhile.
	if err := b.global.Acquire(ctx, n); err != nil {
		b.mu.Lock()
		b.left += n
		b.mu.Unlock()
		return fmt.Errorf("the server is busy sending logs and had no room for this one within the request's time limit; retry, or fetch the log from its fullURL")
	}
	b.mu.Lock()
	b.held += n
	b.mu.Unlock()
	return nil
}

// refund gives back n bytes reserved but not used.
func (b *logBudget) refund(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n = min(n, b.held)
	b.left += n
	b.held -= n
	b.global.Release(n)
}

func (b *logBudget) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held > 0 {
		b.global.Release(b.held)
		b.held = 0
	}
}

func budgetFrom(ctx context.Context) *logBudget {
	b, _ := ctx.Value(budgetKey{}).(*logBudget)
	return b
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
