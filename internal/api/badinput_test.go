package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"builds/internal/build"
)

// TestBadInputChangesNothing sends one mistake per case and checks that
// the answer says what is wrong and that no job was stored or queued.
func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	existing := e.submitJob(e.aliceTok, map[string]any{"execute": false})
	big := "image: debian/bookworm\ntasks:\n  - a: |\n" + strings.Repeat("      echo 0123456789012345678901234567890123456789\n", 65<<10/48)
	cases := []struct {
		name, query string
		vars        map[string]any
		code, want  string
	}{
		{"invalid manifest", submitQuery, map[string]any{"m": "image: debian/bookworm\ntasks:\n  - Bad Name: x\nfoo: 1\n"},
			build.EINVALID, `unknown key "foo"`},
		{"invalid manifest lists every problem", submitQuery, map[string]any{"m": "image: debian/bookworm\ntasks:\n  - Bad Name: x\nfoo: 1\n"},
			build.EINVALID, "tasks[0]"},
		{"unknown image", submitQuery, map[string]any{"m": "image: plan9/4e\ntasks:\n  - a: x\n"},
			build.EINVALID, "available images: archlinux, debian/bookworm, debian/stable"},
		{"65 KiB manifest", submitQuery, map[string]any{"m": big}, build.EINVALID, "64 KiB"},
		{"bad tag", `mutation($m: String!) { submit(manifest: $m, tags: ["no spaces"]) { id } }`,
			map[string]any{"m": goodManifest}, build.EINVALID, "invalid tag"},
		{"unknown job", `mutation { start(jobID: 999999) { id } }`, nil, build.ENOTFOUND, "no job with ID 999999"},
		{"unknown job cancel", `mutation { cancel(jobId: 999999) { id } }`, nil, build.ENOTFOUND, "no job with ID 999999"},
		{"unknown job query", `{ job(id: 999999) { id } }`, nil, build.ENOTFOUND, "no job with ID 999999"},
		{"unknown group", `mutation { startGroup(groupId: 424242) { id } }`, nil, build.ENOTFOUND, "no job group with ID 424242"},
		{"group of unknown job", `mutation { createGroup(jobIds: [999999]) { id } }`, nil, build.ENOTFOUND, "no job with ID 999999"},
		{"group listing a job twice", `mutation($id: Int!) { createGroup(jobIds: [$id, $id]) { id } }`,
			map[string]any{"id": existing}, build.EINVALID, "listed twice"},
	}
	jobs, queued := e.jobCount(e.alice), e.queue.Len()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			r := e.fails(e.aliceTok, c.query, c.vars, c.code, c.want)
			if r.Status != 200 {
				t.Errorf("HTTP %d, want 200 with the error in the body", r.Status)
			}
			if e.jobCount(e.alice) != jobs || e.queue.Len() != queued || e.status(existing) != build.JobPending {
				t.Errorf("the refused request changed something")
			}
		})
	}
}

func TestMalformedRequests(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, token, body string
		status            int
		want              string
	}{
		{"syntax error", e.aliceTok, `{"query": "{ job(id: 1) { id "}`, 422, "Expected Name"},
		{"unknown field", e.aliceTok, `{"query": "{ jobz { id } }"}`, 422, `Cannot query field "jobz"`},
		{"not JSON", e.aliceTok, `query { me { id } }`, 400, "could not be decoded"},
		{"wrong argument type", e.aliceTok, `{"query": "{ job(id: \"x\") { id } }"}`, 422, "Int cannot represent"},
		{"wrong token", "bld_not-a-real-token", `{"query": "{ version { major } }"}`, 401, "invalid or expired token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			status, raw := e.do("POST", "/query", c.token, "application/json", []byte(c.body))
			var r gqlResponse
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatalf("body %q is not a GraphQL response: %v", raw, err)
			}
			if status != c.status || len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, c.want) {
				t.Errorf("HTTP %d %s, want %d and an error containing %q", status, raw, c.status, c.want)
			}
		})
	}
}

func TestAuthorizationHeader(t *testing.T) {
	e := newEnv(t)
	for _, h := range []string{"Basic YWxpY2U6eA==", "Bearer", "Bearer " + e.aliceTok + "x"} {
		status, raw := e.doHeader("POST", "/query", h, `{"query": "{ version { major } }"}`)
		if status != 401 || !strings.Contains(string(raw), "message") {
			t.Errorf("Authorization %q: HTTP %d %s, want 401 with a message", h, status, raw)
		}
	}
	// builds.sr.ht's legacy "token" scheme is accepted.
	status, raw := e.doHeader("POST", "/query", "token "+e.aliceTok, `{"query": "{ me { username } }"}`)
	if status != 200 || !strings.Contains(string(raw), "alice") {
		t.Errorf("token scheme: HTTP %d %s", status, raw)
	}
}

func TestComplexityLimitAndEmailPrivacy(t *testing.T) {
	e := newEnv(t)
	id := e.submitJob(e.aliceTok, nil)
	deep := "id"
	for range 200 {
		deep = "id group { id jobs { " + deep + " } }"
	}
	r := e.gql("", `query($id: Int!) { job(id: $id) { `+deep+` } }`, map[string]any{"id": id})
	if len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "exceeds the limit") || string(r.Data) != "null" && len(r.Data) != 0 {
		t.Errorf("deep query: HTTP %d %+v", r.Status, r.Errors)
	}
	var out struct {
		UserByName struct{ Email string }
	}
	e.ok(e.bobTok, `{ userByName(username: "alice") { email } }`, nil, &out)
	if out.UserByName.Email != "" {
		t.Errorf("bob sees alice's address %q", out.UserByName.Email)
	}
}
