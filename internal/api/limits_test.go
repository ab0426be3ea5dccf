package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"builds/internal/api"
	"builds/internal/build"
	"builds/internal/logs"
)

// dirLogs serves the API real logs from a log directory.
type dirLogs struct{ d *logs.Dir }

func (l dirLogs) FullURL(j *build.Job, t *build.Task) string {
	if t == nil {
		return fmt.Sprintf("http://builds.test/logs/%d/log", j.ID)
	}
	return fmt.Sprintf("http://builds.test/logs/%d/%s/log", j.ID, t.Name)
}

func (l dirLogs) Last128KiB(ctx context.Context, j *build.Job, t *build.Task) (string, error) {
	name := ""
	if t != nil {
		name = t.Name
	}
	b, _, err := l.d.Tail(ctx, j.ID, name, 128<<10)
	return string(b), err
}

// newLogEnv is newEnv whose API reads logs from a real log directory and
// has the given limits.
func newLogEnv(t testing.TB, lim api.Limits) (*env, *logs.Dir) {
	e := newEnv(t)
	d, err := logs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Close()
	e.srv = httptest.NewServer(api.New(api.Options{
		Store: e.store, Submit: e.svc, Logs: dirLogs{d}, Origin: "http://builds.test",
		Version: "0.1.0", BuildTimeout: 45 * time.Minute, SSHUser: "builds", Limits: lim,
	}))
	t.Cleanup(e.srv.Close)
	return e, d
}

// logJob stores a finished public job of alice with n tasks, each with a
// log of size bytes, and returns its ID.
func logJob(t testing.TB, e *env, d *logs.Dir, n, size int) int64 {
	j := &build.Job{OwnerID: e.alice.ID, Manifest: goodManifest, Image: "debian/bookworm", Arch: "amd64",
		Status: build.JobSuccess, Visibility: build.Public, Runner: "runner.test"}
	for i := range n {
		j.Tasks = append(j.Tasks, build.Task{Name: fmt.Sprintf("t%d", i), Status: build.TaskSuccess})
	}
	if err := e.store.CreateJob(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 63) + "\n"
	chunk := []byte(strings.Repeat(line, 1<<14)) // 1 MiB
	jl := d.Job(j.ID, nil)
	for _, task := range append([]string{""}, taskNames(j)...) {
		w, err := jl.Task(task)
		if task == "" {
			w, err = jl.Setup()
		}
		if err != nil {
			t.Fatal(err)
		}
		for left := size; left > 0; left -= len(chunk) {
			if _, err := w.Write(chunk[:min(left, len(chunk))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := jl.Close(); err != nil {
		t.Fatal(err)
	}
	return j.ID
}

func taskNames(j *build.Job) []string {
	var names []string
	for _, t := range j.Tasks {
		names = append(names, t.Name)
	}
	return names
}

func TestGraphQLCostCountsLogText(t *testing.T) {
	t.Parallel()
	e, d := newLogEnv(t, api.Limits{})
	id := logJob(t, e, d, 3, 1000)
	one := fmt.Sprintf("a: job(id: %d) { tasks { log { last128KiB } } }", id)
	e.ok("", "{"+one+"}", nil, nil)
	// The same tails twice cost twice as much: past 250.
	two := one + strings.Replace(one, "a:", " b:", 1)
	r := e.gql("", "{"+two+"}", nil)
	if len(r.Errors) == 0 || r.Errors[0].Extensions.Code != "COMPLEXITY_LIMIT_EXCEEDED" ||
		!strings.Contains(r.Errors[0].Message, "operation has complexity 334, which exceeds the limit of 250") {
		t.Fatalf("two aliased log queries: %+v", r.Errors)
	}
	// Without log text the same shape is cheap.
	cheap := strings.ReplaceAll(two, "last128KiB", "fullURL")
	e.ok("", "{"+cheap+"}", nil, nil)
	// Seven tails of the job's own log fit; eight do not.
	var many strings.Builder
	for i := range 8 {
		fmt.Fprintf(&many, "j%d: job(id: %d) { log { last128KiB } } ", i, id)
	}
	e.fails("", "{"+many.String()+"}", nil, "COMPLEXITY_LIMIT_EXCEEDED", "operation has complexity 272, which exceeds the limit of 250")
}

func TestGraphQLDepthLimit(t *testing.T) {
	t.Parallel()
	e, d := newLogEnv(t, api.Limits{})
	id := logJob(t, e, d, 1, 10)
	q := "id"
	for range 8 {
		q = "tasks { job { " + q + " } }"
	}
	// job + 8 × (tasks, job) + id = 18 levels.
	e.fails("", fmt.Sprintf("{ job(id: %d) { %s } }", id, q), nil, "DEPTH_LIMIT_EXCEEDED",
		"operation nests more than 16 levels of selections; split it into several requests")
	// Fragments count as the selections they stand for.
	e.fails("", fmt.Sprintf("query { job(id: %d) { ...deep } } fragment deep on Job { %s }", id, q), nil,
		"DEPTH_LIMIT_EXCEEDED", "nests more than 16 levels")
	e.ok("", fmt.Sprintf("{ job(id: %d) { tasks { job { tasks { name } } } } }", id), nil, nil)
}

func TestGraphQLResponseLogBytesCap(t *testing.T) {
	t.Parallel()
	e, d := newLogEnv(t, api.Limits{})
	id := logJob(t, e, d, 20, 200<<10)
	status, raw := e.do("POST", "/query", "", "application/json",
		fmt.Appendf(nil, `{"query": "{ job(id: %d) { tasks { name log { last128KiB } } } }"}`, id))
	if status != 200 {
		t.Fatalf("status %d: %.500s", status, raw)
	}
	if len(raw) > 1<<20+64<<10 {
		t.Errorf("the response holds %d bytes, past the 1 MiB of log text allowed", len(raw))
	}
	var r struct {
		Data struct {
			Job struct {
				Tasks []struct {
					Name string
					Log  *struct{ Last128KiB string }
				}
			}
		}
		Errors []gqlError
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	full := 0
	for _, task := range r.Data.Job.Tasks {
		if task.Log != nil && len(task.Log.Last128KiB) == 128<<10 {
			full++
		}
	}
	if full != 8 || len(r.Data.Job.Tasks) != 20 {
		t.Errorf("%d of %d tasks carry their tail, want 8 of 20", full, len(r.Data.Job.Tasks))
	}
	if len(r.Errors) != 12 {
		t.Fatalf("%d errors, want 12: %+v", len(r.Errors), r.Errors)
	}
	want := "this response already carries the 1 MiB of log text one response may hold; fetch the log from its fullURL instead"
	if e0 := r.Errors[0]; e0.Extensions.Code != build.ELIMIT || e0.Message != want {
		t.Errorf("error %+v, want code %s and %q", e0, build.ELIMIT, want)
	}
}

func TestGraphQLLogAllowanceAndDeadline(t *testing.T) {
	t.Parallel()
	// Room for one tail at a time in the whole process, and 300 ms per
	// request: the second tail of a request waits for the first, which its
	// own request holds, until the deadline.
	e, d := newLogEnv(t, api.Limits{LogBytesInFlight: 128 << 10, MaxDuration: 300 * time.Millisecond})
	id := logJob(t, e, d, 2, 200<<10)
	start := time.Now()
	r := e.gql("", fmt.Sprintf("{ job(id: %d) { tasks { log { last128KiB } } } }", id), nil)
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message,
		"the server is busy sending logs and had no room for this one within the request's time limit") {
		t.Fatalf("errors %+v", r.Errors)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the request took %v, past its 300 ms limit", d)
	}
	// The allowance is given back once the response is written.
	e.ok("", fmt.Sprintf("{ job(id: %d) { log { last128KiB } } }", id), nil, nil)
}

// introspectionQuery is the query GraphiQL and most clients send to learn
// the schema; the limits must let it through.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`

func TestGraphQLLimitsLetIntrospectionThrough(t *testing.T) {
	t.Parallel()
	e, _ := newLogEnv(t, api.Limits{})
	e.ok("", introspectionQuery, nil, nil)
	// Nesting the lists that lead from type to type multiplies the answer
	// at every level: refused.
	e.fails("", "{ __schema { types { fields { type { fields { type { name } } } } } } }", nil,
		"DEPTH_LIMIT_EXCEEDED", "introspection may select fields, inputFields, interfaces or possibleTypes of a type only once on a path")
	e.fails("", `{ __type(name: "Job") { fields { type { ofType { interfaces { name } } } } } }`, nil,
		"DEPTH_LIMIT_EXCEEDED", "only once on a path")
}
