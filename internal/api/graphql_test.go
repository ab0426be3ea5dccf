package api_test

import (
	"fmt"
	"strings"
	"testing"

	"builds/internal/build"
)

const jobFields = `id status manifest note tags visibility image runner
	owner { canonicalName ... on User { username } }
	tasks { name status log { fullURL } }
	log { fullURL last128KiB }`

type jobData struct {
	ID         int64
	Status     string
	Manifest   string
	Note       *string
	Tags       []string
	Visibility string
	Image      string
	Runner     *string
	Owner      struct{ CanonicalName, Username string }
	Tasks      []struct {
		Name, Status string
		Log          *struct{ FullURL string }
	}
	Log *struct{ FullURL, Last128KiB string }
}

func TestSubmitQueuesJobAndQueryShowsIt(t *testing.T) {
	e := newEnv(t)
	var out struct{ Submit jobData }
	e.ok(e.aliceTok, `mutation($m: String!) { submit(manifest: $m, tags: ["proj", "main"], note: "first") { `+jobFields+` } }`,
		map[string]any{"m": goodManifest}, &out)
	j := out.Submit
	if j.Status != "QUEUED" || j.Image != "debian/bookworm" || j.Visibility != "UNLISTED" || j.Runner != nil || j.Log != nil {
		t.Errorf("submitted job = %+v", j)
	}
	if j.Note == nil || *j.Note != "first" || strings.Join(j.Tags, ",") != "proj,main" || j.Manifest != goodManifest {
		t.Errorf("note/tags/manifest not kept: %+v", j)
	}
	if len(j.Tasks) != 2 || j.Tasks[0].Name != "build" || j.Tasks[1].Status != "PENDING" {
		t.Errorf("tasks = %+v", j.Tasks)
	}
	if j.Owner.CanonicalName != "~alice" || j.Owner.Username != "alice" {
		t.Errorf("owner = %+v", j.Owner)
	}
	it := e.take()
	if it.JobID != j.ID || it.Arch != "amd64" || it.Image != "debian/bookworm" || len(it.Key) < 40 {
		t.Fatalf("queue item = %+v", it)
	}

	// Once a runner has it, logs appear.
	if _, err := e.store.SetJobStatus(t.Context(), j.ID, build.JobRunning, "runner1:8081"); err != nil {
		t.Fatal(err)
	}
	var got struct{ Job jobData }
	e.ok(e.aliceTok, `query($id: Int!) { job(id: $id) { `+jobFields+` } }`, map[string]any{"id": j.ID}, &got)
	if got.Job.Status != "RUNNING" || got.Job.Runner == nil || *got.Job.Runner != "runner1:8081" {
		t.Errorf("running job = %+v", got.Job)
	}
	if got.Job.Log == nil || got.Job.Log.Last128KiB != "setup output" || !strings.HasSuffix(got.Job.Log.FullURL, fmt.Sprintf("/logs/%d/log", j.ID)) {
		t.Errorf("job log = %+v", got.Job.Log)
	}
	if l := got.Job.Tasks[1].Log; l == nil || !strings.HasSuffix(l.FullURL, "/test/log") {
		t.Errorf("task log = %+v", l)
	}
}

func TestSubmitPendingThenStart(t *testing.T) {
	e := newEnv(t)
	id := e.submitJob(e.aliceTok, map[string]any{"execute": false})
	if e.status(id) != build.JobPending || e.queue.Len() != 0 {
		t.Fatalf("execute:false job is %s with %d queued", e.status(id), e.queue.Len())
	}
	var out struct{ Start struct{ Status string } }
	e.ok(e.aliceTok, `mutation($id: Int!) { start(jobID: $id) { status } }`, map[string]any{"id": id}, &out)
	if out.Start.Status != "QUEUED" {
		t.Errorf("started job is %s", out.Start.Status)
	}
	if it := e.take(); it.JobID != id {
		t.Errorf("queue handed out job %d, want the started job %d", it.JobID, id)
	}
	e.fails(e.aliceTok, `mutation($id: Int!) { start(jobID: $id) { status } }`, map[string]any{"id": id},
		build.ECONFLICT, "already queued")
}

func TestCancel(t *testing.T) {
	e := newEnv(t)
	cancel := `mutation($id: Int!) { cancel(jobId: $id) { status } }`
	running := e.submitJob(e.aliceTok, nil)
	if it := e.take(); it.JobID != running {
		t.Fatalf("took job %d, want %d", it.JobID, running)
	}
	pending := e.submitJob(e.aliceTok, map[string]any{"execute": false})
	queued := e.submitJob(e.aliceTok, nil)
	if _, err := e.store.SetJobStatus(t.Context(), running, build.JobRunning, "r1"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{pending, queued, running} {
		var out struct{ Cancel struct{ Status string } }
		e.ok(e.aliceTok, cancel, map[string]any{"id": id}, &out)
		if out.Cancel.Status != "CANCELLED" || e.status(id) != build.JobCancelled {
			t.Errorf("job %d after cancel: %s / %s", id, out.Cancel.Status, e.status(id))
		}
	}
	if n := e.queue.Len(); n != 0 {
		t.Errorf("%d jobs still queued after cancelling", n)
	}
	if !e.wasCancelled(running) || !e.wasCancelled(queued) || e.wasCancelled(pending) {
		t.Errorf("runner was told about %v", e.cancelled)
	}
	e.fails(e.aliceTok, cancel, map[string]any{"id": queued}, build.ECONFLICT, "already ended")
}

func TestJobsPaginate(t *testing.T) {
	e := newEnv(t)
	const n = 60
	for range n {
		e.submitJob(e.aliceTok, nil)
	}
	e.submitJob(e.bobTok, nil)
	query := `query($c: Cursor) { jobs(cursor: $c) { results { id owner { canonicalName } } cursor } }`
	var cursor any
	seen := map[int64]bool{}
	last := int64(1 << 62)
	pages := 0
	for {
		var out struct {
			Jobs struct {
				Results []struct {
					ID    int64
					Owner struct{ CanonicalName string }
				}
				Cursor *string
			}
		}
		e.ok(e.aliceTok, query, map[string]any{"c": cursor}, &out)
		pages++
		for _, j := range out.Jobs.Results {
			if seen[j.ID] || j.ID >= last || j.Owner.CanonicalName != "~alice" {
				t.Fatalf("page %d: job %+v repeated, out of order or not alice's", pages, j)
			}
			seen[j.ID], last = true, j.ID
		}
		if out.Jobs.Cursor == nil {
			break
		}
		cursor = *out.Jobs.Cursor
	}
	if len(seen) != n || pages != 3 {
		t.Errorf("saw %d jobs in %d pages, want %d in 3", len(seen), pages, n)
	}
	e.fails(e.aliceTok, query, map[string]any{"c": "not-a-cursor"}, build.EINVALID, "invalid cursor")
}

func TestVersionAndMe(t *testing.T) {
	e := newEnv(t)
	var out struct {
		Version struct {
			Major, Minor, Patch int
			DeprecationDate     *string
			Settings            struct{ SSHUser, BuildTimeout string }
		}
		Me struct {
			ID                      int64
			Username, CanonicalName string
			Email                   string
		}
	}
	e.ok(e.aliceTok, `{ version { major minor patch deprecationDate settings { sshUser buildTimeout } }
		me { id username canonicalName email } }`, nil, &out)
	v := out.Version
	if v.Major != 0 || v.Minor != 1 || v.Patch != 0 || v.DeprecationDate != nil || v.Settings.SSHUser != "builds" || v.Settings.BuildTimeout != "45m" {
		t.Errorf("version = %+v", v)
	}
	if out.Me.ID != e.alice.ID || out.Me.Username != "alice" || out.Me.CanonicalName != "~alice" || out.Me.Email != "alice@example.org" {
		t.Errorf("me = %+v", out.Me)
	}
	var users struct {
		A struct{ Username string }
		B struct{ ID int64 }
	}
	e.ok(e.aliceTok, `query($id: Int!) { a: userByID(id: $id) { username } b: userByName(username: "~bob") { id } }`,
		map[string]any{"id": e.bob.ID}, &users)
	if users.A.Username != "bob" || users.B.ID != e.bob.ID {
		t.Errorf("users = %+v", users)
	}
	e.fails(e.aliceTok, `{ userByName(username: "nobody") { id } }`, nil, build.ENOTFOUND, `no user named "nobody"`)
}

func TestGroups(t *testing.T) {
	e := newEnv(t)
	a := e.submitJob(e.aliceTok, map[string]any{"execute": false})
	b := e.submitJob(e.aliceTok, map[string]any{"execute": false})
	create := `mutation($ids: [Int!]!, $exec: Boolean) {
		createGroup(jobIds: $ids, execute: $exec, note: "release", triggers: [
			{type: EMAIL, condition: FAILURE, email: {to: "dev@example.org", cc: "ops@example.org"}},
			{type: WEBHOOK, condition: ALWAYS, webhook: {url: "https://hooks.example.org/x"}}]) {
		id note owner { canonicalName } jobs { id status group { id } }
		triggers { condition ... on EmailTrigger { to cc inReplyTo } ... on WebhookTrigger { url } } } }`
	var out struct {
		CreateGroup struct {
			ID    int64
			Note  string
			Owner struct{ CanonicalName string }
			Jobs  []struct {
				ID     int64
				Status string
				Group  struct{ ID int64 }
			}
			Triggers []struct {
				Condition, To, URL string
				Cc, InReplyTo      *string
			}
		}
	}
	e.ok(e.aliceTok, create, map[string]any{"ids": []int64{a, b}, "exec": false}, &out)
	g := out.CreateGroup
	if g.Note != "release" || g.Owner.CanonicalName != "~alice" || len(g.Jobs) != 2 || g.Jobs[0].Group.ID != g.ID {
		t.Fatalf("group = %+v", g)
	}
	if len(g.Triggers) != 2 || g.Triggers[0].To != "dev@example.org" || *g.Triggers[0].Cc != "ops@example.org" ||
		g.Triggers[0].InReplyTo != nil || g.Triggers[1].URL != "https://hooks.example.org/x" || g.Triggers[1].Condition != "ALWAYS" {
		t.Errorf("triggers = %+v", g.Triggers)
	}
	if e.status(a) != build.JobPending {
		t.Errorf("execute:false group started its jobs")
	}
	// A job can be in one group only.
	e.fails(e.aliceTok, create, map[string]any{"ids": []int64{a}}, build.ECONFLICT, "already in group")

	start := `mutation($id: Int!) { startGroup(groupId: $id) { id jobs { status } } }`
	e.ok(e.aliceTok, start, map[string]any{"id": g.ID}, nil)
	if e.status(a) != build.JobQueued || e.status(b) != build.JobQueued || e.queue.Len() != 2 {
		t.Errorf("after startGroup: %s, %s, %d queued", e.status(a), e.status(b), e.queue.Len())
	}
	e.fails(e.aliceTok, start, map[string]any{"id": g.ID}, build.ECONFLICT, "no pending jobs")
	e.fails(e.bobTok, start, map[string]any{"id": g.ID}, build.EFORBIDDEN, "not yours")

	e.ok(e.aliceTok, `mutation($id: Int!) { cancelGroup(groupId: $id) { id } }`, map[string]any{"id": g.ID}, nil)
	if e.status(a) != build.JobCancelled || e.status(b) != build.JobCancelled || e.queue.Len() != 0 {
		t.Errorf("after cancelGroup: %s, %s, %d queued", e.status(a), e.status(b), e.queue.Len())
	}

	// Only pending jobs can be grouped, and triggers are checked.
	queued := e.submitJob(e.aliceTok, nil)
	e.fails(e.aliceTok, create, map[string]any{"ids": []int64{queued}}, build.ECONFLICT, "only pending jobs")
	p := e.submitJob(e.aliceTok, map[string]any{"execute": false})
	e.fails(e.aliceTok, `mutation($ids: [Int!]!) { createGroup(jobIds: $ids, triggers: [{type: EMAIL, condition: ALWAYS}]) { id } }`,
		map[string]any{"ids": []int64{p}}, build.EINVALID, "needs the email field")
	e.fails(e.aliceTok, `mutation { createGroup(jobIds: []) { id } }`, nil, build.EINVALID, "at least one job")
}

func TestWebhooks(t *testing.T) {
	e := newEnv(t)
	create := `mutation($q: String!, $url: String!) { createUserWebhook(config: {url: $url, events: [JOB_CREATED], query: $q}) {
		id url events query } }`
	var out struct {
		CreateUserWebhook struct {
			ID     int64
			URL    string
			Events []string
		}
	}
	e.ok(e.aliceTok, create, map[string]any{"q": "query { webhook { uuid event } }", "url": "https://hooks.example.org/"}, &out)
	w := out.CreateUserWebhook
	if w.ID == 0 || w.Events[0] != "JOB_CREATED" {
		t.Fatalf("webhook = %+v", w)
	}
	var list struct {
		UserWebhooks struct{ Results []struct{ ID int64 } }
	}
	e.ok(e.aliceTok, `{ userWebhooks { results { id } cursor } }`, nil, &list)
	if len(list.UserWebhooks.Results) != 1 {
		t.Errorf("listed %d webhooks", len(list.UserWebhooks.Results))
	}
	e.fails(e.bobTok, `query($id: Int!) { userWebhook(id: $id) { id } }`, map[string]any{"id": w.ID}, build.ENOTFOUND, "no webhook")
	e.fails(e.aliceTok, create, map[string]any{"q": "query { nope }", "url": "https://x.example.org/"}, build.EINVALID, "webhook query")
	e.fails(e.aliceTok, create, map[string]any{"q": "query { version { major } }", "url": "ftp://x"}, build.EINVALID, "http or https")
	e.ok(e.aliceTok, `mutation($id: Int!) { deleteUserWebhook(id: $id) { id } }`, map[string]any{"id": w.ID}, nil)
	e.fails(e.aliceTok, `query($id: Int!) { userWebhook(id: $id) { id } }`, map[string]any{"id": w.ID}, build.ENOTFOUND, "no webhook")
}

// TestPostgres runs the core flow on PostgreSQL, the production database:
// submit, read back, list, start and cancel.
func TestPostgres(t *testing.T) {
	e := newPostgresEnv(t)
	id := e.submitJob(e.aliceTok, map[string]any{"execute": false, "tags": []string{"a"}, "visibility": "PRIVATE"})
	var out struct {
		Job  jobData
		Jobs struct{ Results []struct{ ID int64 } }
	}
	e.ok(e.aliceTok, `query($id: Int!) { job(id: $id) { `+jobFields+` } jobs { results { id } } }`, map[string]any{"id": id}, &out)
	if out.Job.Status != "PENDING" || out.Job.Visibility != "PRIVATE" || len(out.Job.Tasks) != 2 || len(out.Jobs.Results) != 1 {
		t.Errorf("job = %+v, listing %+v", out.Job, out.Jobs)
	}
	e.fails(e.bobTok, `query($id: Int!) { job(id: $id) { id } }`, map[string]any{"id": id}, build.ENOTFOUND, "no job with ID")
	e.ok(e.aliceTok, `mutation($id: Int!) { start(jobID: $id) { id } }`, map[string]any{"id": id}, nil)
	e.ok(e.aliceTok, `mutation($id: Int!) { cancel(jobId: $id) { id } }`, map[string]any{"id": id}, nil)
	if e.status(id) != build.JobCancelled || e.queue.Len() != 0 {
		t.Errorf("after start and cancel: %s, %d queued", e.status(id), e.queue.Len())
	}
}
