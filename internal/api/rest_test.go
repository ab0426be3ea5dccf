package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"builds/internal/build"
)

// restJob is the legacy JSON shape of a job.
type restJob struct {
	ID       int64
	Status   string
	SetupLog *string `json:"setup_log"`
	Tasks    []struct {
		Name, Status string
		Log          *string
	}
	Note   *string
	Runner *string
	Tags   *string
	Owner  struct {
		CanonicalName string `json:"canonical_name"`
	}
	URL string
}

// rest sends a REST request and decodes a JSON answer into out.
func (e *env) rest(method, path, token, body string, wantStatus int, out any) []byte {
	e.t.Helper()
	status, raw := e.do(method, path, token, "application/json", []byte(body))
	if status != wantStatus {
		e.t.Fatalf("%s %s: HTTP %d %s, want %d", method, path, status, raw, wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return raw
}

func TestRESTJobs(t *testing.T) {
	e := newEnv(t)
	body, _ := json.Marshal(map[string]any{"manifest": goodManifest, "note": "via rest", "tags": []string{"a", "b"}, "execute": false})
	var j restJob
	e.rest("POST", "/api/jobs", e.aliceTok, string(body), 200, &j)
	if j.ID == 0 || j.URL != fmt.Sprintf("http://builds.test/~alice/job/%d", j.ID) || j.Status != "pending" || *j.Tags != "a/b" || *j.Note != "via rest" || len(j.Tasks) != 2 || j.SetupLog != nil {
		t.Fatalf("posted job = %+v", j)
	}
	id := fmt.Sprint(j.ID)
	if raw := e.rest("POST", "/api/jobs/"+id+"/start", e.aliceTok, "", 200, nil); string(raw) != "{}\n" || e.status(j.ID) != build.JobQueued {
		t.Errorf("start answered %q; status %s", raw, e.status(j.ID))
	}
	if _, err := e.store.SetJobStatus(t.Context(), j.ID, build.JobRunning, "r1:8081"); err != nil {
		t.Fatal(err)
	}
	e.rest("GET", "/api/jobs/"+id, "", "", 200, &j)
	if j.Owner.CanonicalName != "~alice" || *j.Runner != "r1:8081" || j.SetupLog == nil || j.Tasks[0].Log == nil ||
		!strings.HasSuffix(*j.Tasks[0].Log, "/"+id+"/build/log") {
		t.Errorf("job = %+v", j)
	}
	if raw := e.rest("GET", "/api/jobs/"+id+"/manifest", "", "", 200, nil); string(raw) != goodManifest {
		t.Errorf("manifest = %q", raw)
	}
	if err := e.store.AddArtifact(t.Context(), &build.Artifact{JobID: j.ID, Path: "out/x.tar.gz", Name: "x.tar.gz", Size: 42, URL: "http://r1/x"}); err != nil {
		t.Fatal(err)
	}
	var arts struct {
		Results []struct {
			Path string
			Size int64
			URL  string
		}
		Next           *string
		Total          int
		ResultsPerPage int `json:"results_per_page"`
	}
	e.rest("GET", "/api/jobs/"+id+"/artifacts", e.bobTok, "", 200, &arts)
	if len(arts.Results) != 1 || arts.Results[0].Path != "out/x.tar.gz" || arts.Results[0].Size != 42 ||
		arts.Next != nil || arts.Total != 1 || arts.ResultsPerPage != 50 {
		t.Errorf("artifacts = %+v", arts)
	}
	e.rest("POST", "/api/jobs/"+id+"/cancel", e.bobTok, "", 403, nil)
	if raw := e.rest("POST", "/api/jobs/"+id+"/cancel", e.aliceTok, "", 200, nil); string(raw) != "{}\n" || !e.wasCancelled(j.ID) {
		t.Errorf("cancel answered %q", raw)
	}
	e.rest("POST", "/api/jobs/"+id+"/cancel", e.aliceTok, "", 409, nil)
	never := e.submitJob(e.aliceTok, nil)
	e.rest("POST", fmt.Sprintf("/api/jobs/%d/cancel", never), e.aliceTok, "", 200, nil)
	e.rest("GET", fmt.Sprintf("/api/jobs/%d", never), e.aliceTok, "", 200, &j)
	if j.Status != "cancelled" || j.SetupLog != nil || j.Tasks[0].Log != nil {
		t.Errorf("a job cancelled before it ran has logs: %+v", j)
	}

	var list struct {
		Results        []restJob
		Next           *string
		Total          int
		ResultsPerPage int `json:"results_per_page"`
	}
	e.rest("GET", "/api/jobs", e.aliceTok, "", 200, &list)
	if len(list.Results) != 2 || list.Next != nil || list.Total != 2 || list.ResultsPerPage != 50 {
		t.Errorf("listing = %+v", list)
	}
}

// TestRESTJobPages pages through /api/jobs as builds.sr.ht's clients do:
// next is the ID of the first job of the following page, passed back as
// ?start=, and total counts every job.
func TestRESTJobPages(t *testing.T) {
	e := newEnv(t)
	var ids []int64
	for range 53 {
		ids = append(ids, e.submitJob(e.aliceTok, map[string]any{"execute": false}))
	}
	var page struct {
		Results        []restJob
		Next           *string
		Total          int
		ResultsPerPage int `json:"results_per_page"`
	}
	e.rest("GET", "/api/jobs", e.aliceTok, "", 200, &page)
	if len(page.Results) != 50 || page.Total != 53 || page.ResultsPerPage != 50 || page.Next == nil ||
		page.Results[0].ID != ids[52] || *page.Next != fmt.Sprint(ids[2]) {
		t.Fatalf("first page: %d results from %d, next %v, total %d", len(page.Results), page.Results[0].ID, page.Next, page.Total)
	}
	e.rest("GET", "/api/jobs?start="+*page.Next, e.aliceTok, "", 200, &page)
	if len(page.Results) != 3 || page.Results[0].ID != ids[2] || page.Next != nil || page.Total != 53 {
		t.Errorf("second page: %+v", page)
	}
}

// TestRESTCompat checks the shapes builds.sr.ht's REST clients rely on:
// unknown fields are ignored, errors carry reason and field, warnings come
// back with the job, and a group is not started unless execute is true.
func TestRESTCompat(t *testing.T) {
	e := newEnv(t)
	body, _ := json.Marshal(map[string]any{"manifest": goodManifest + "submitter:\n  git.sr.ht: {enabled: false}\n",
		"execute": false, "some_future_field": 1})
	var j struct {
		ID       int64
		Warnings []string
	}
	e.rest("POST", "/api/jobs", e.aliceTok, string(body), 200, &j)
	if len(j.Warnings) != 1 || !strings.Contains(j.Warnings[0], `unknown key "submitter"`) {
		t.Errorf("warnings = %q", j.Warnings)
	}
	var errs struct {
		Errors []struct{ Reason, Field string }
	}
	e.rest("POST", "/api/jobs", e.aliceTok, `{"manifest": "image: debian/bookworm\n"}`, 400, &errs)
	if len(errs.Errors) != 1 || errs.Errors[0].Field != "manifest" || !strings.Contains(errs.Errors[0].Reason, `missing key "tasks"`) {
		t.Errorf("errors = %+v", errs)
	}
	e.rest("GET", "/api/jobs/abc", e.aliceTok, "", 404, &errs)
	if len(errs.Errors) != 1 || !strings.Contains(errs.Errors[0].Reason, "not a valid ID") {
		t.Errorf("errors = %+v", errs)
	}
	a := e.submitJob(e.aliceTok, map[string]any{"execute": false})
	e.rest("POST", "/api/job-group", e.aliceTok, fmt.Sprintf(`{"jobs": [%d]}`, a), 200, nil)
	if st := e.status(a); st != build.JobPending {
		t.Errorf("a group made without execute started its job: %s", st)
	}
	b := e.submitJob(e.aliceTok, map[string]any{"execute": false})
	e.rest("POST", "/api/job-group", e.aliceTok, fmt.Sprintf(`{"jobs": [%d], "execute": true}`, b), 200, nil)
	if st := e.status(b); st != build.JobQueued {
		t.Errorf("a group made with execute: true did not start its job: %s", st)
	}
}

func TestRESTRefusals(t *testing.T) {
	e := newEnv(t)
	priv := e.submitJob(e.aliceTok, map[string]any{"visibility": "PRIVATE"})
	p := fmt.Sprint(priv)
	cases := []struct {
		method, path, token, body string
		status                    int
		want                      string
	}{
		{"GET", "/api/jobs/" + p, e.bobTok, "", 404, "no job with ID"},
		{"GET", "/api/jobs/" + p + "/manifest", "", "", 404, "no job with ID"},
		{"GET", "/api/jobs/" + p + "/artifacts", e.bobTok, "", 404, "no job with ID"},
		{"GET", "/api/jobs/999999", e.aliceTok, "", 404, "no job with ID 999999"},
		{"GET", "/api/jobs/abc", e.aliceTok, "", 404, "not a valid ID"},
		{"GET", "/api/jobs", "", "", 401, "authentication required"},
		{"GET", "/api/jobs", "bld_wrong", "", 401, "invalid or expired token"},
		{"POST", "/api/jobs", "", `{"manifest": "x"}`, 401, "authentication required"},
		{"POST", "/api/jobs", e.aliceTok, `{"manifest": `, 400, "invalid JSON"},
		{"POST", "/api/jobs", e.aliceTok, `{"manfest": "x"}`, 400, `"field":"manifest"`},
		{"POST", "/api/jobs", e.aliceTok, `{}`, 400, "manifest is required"},
		{"POST", "/api/jobs", e.aliceTok, `{"manifest": "image: nope/1\ntasks:\n  - a: b\n"}`, 400, "unknown image"},
		{"POST", "/api/jobs/" + p + "/start", e.aliceTok, "", 409, "already queued"},
		{"POST", "/api/job-group", e.aliceTok, `{"jobs": []}`, 400, "at least one job"},
		{"GET", "/api/job-group/77", e.aliceTok, "", 404, "no job group with ID 77"},
		{"GET", "/api/nothing", e.aliceTok, "", 404, "no API route"},
	}
	jobs := e.jobCount(e.alice)
	for _, c := range cases {
		status, raw := e.do(c.method, c.path, c.token, "application/json", []byte(c.body))
		if status != c.status || !strings.Contains(string(raw), c.want) {
			t.Errorf("%s %s: HTTP %d %s, want %d and %q", c.method, c.path, status, raw, c.status, c.want)
		}
	}
	if e.jobCount(e.alice) != jobs || e.status(priv) != build.JobQueued {
		t.Error("a refused request changed something")
	}
	ro := e.token(e.alice, "JOBS:RO")
	if status, raw := e.do("POST", "/api/jobs/"+p+"/cancel", ro, "", nil); status != 403 || !strings.Contains(string(raw), "JOBS:RW") {
		t.Errorf("read-only token cancelling: HTTP %d %s", status, raw)
	}
}

func TestRESTGroups(t *testing.T) {
	e := newEnv(t)
	a := e.submitJob(e.aliceTok, map[string]any{"execute": false})
	b := e.submitJob(e.aliceTok, map[string]any{"execute": false})
	var g struct {
		ID    int64
		Note  string
		Owner struct {
			Name string
		}
		Jobs     []restJob
		Triggers []struct{ Action, Condition, To string }
	}
	body := fmt.Sprintf(`{"jobs": [%d, %d], "execute": false, "note": "rel",
		"triggers": [{"action": "email", "condition": "always", "to": "dev@example.org"}]}`, a, b)
	e.rest("POST", "/api/job-group", e.aliceTok, body, 200, &g)
	if g.ID == 0 || g.Note != "rel" || g.Owner.Name != "alice" || len(g.Jobs) != 2 || g.Jobs[0].Status != "pending" ||
		len(g.Triggers) != 1 || g.Triggers[0].To != "dev@example.org" {
		t.Fatalf("group = %+v", g)
	}
	id := fmt.Sprint(g.ID)
	e.rest("GET", "/api/job-group/"+id, e.bobTok, "", 200, &g)
	e.rest("POST", "/api/job-group/"+id+"/start", e.bobTok, "", 403, nil)
	e.rest("POST", "/api/job-group/"+id+"/start", e.aliceTok, "", 200, &g)
	if g.Jobs[0].Status != "queued" || g.Jobs[1].Status != "queued" {
		t.Errorf("started group = %+v", g)
	}
	e.rest("POST", "/api/job-group/"+id+"/cancel", e.aliceTok, "", 200, &g)
	if e.status(a) != build.JobCancelled || e.status(b) != build.JobCancelled {
		t.Errorf("after cancel: %s %s", e.status(a), e.status(b))
	}
	e.rest("POST", "/api/job-group/"+id+"/cancel", e.aliceTok, "", 409, nil)
}
