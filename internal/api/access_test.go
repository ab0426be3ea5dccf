package api_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"builds/internal/build"
)

const sshKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-very-secret-material\n-----END OPENSSH PRIVATE KEY-----\n"

func TestSecretsCreateListShare(t *testing.T) {
	e := newEnv(t)
	create := `mutation($kind: SecretKind!, $data: Binary!, $name: String, $path: String, $mode: Int) {
		createSecret(kind: $kind, data: $data, name: $name, path: $path, mode: $mode) {
			uuid name __typename ... on SecretFile { path mode } } }`
	var key struct {
		CreateSecret struct{ UUID, Name, Typename string }
	}
	b64 := base64.StdEncoding.EncodeToString
	e.ok(e.aliceTok, create, map[string]any{"kind": "SSH_KEY", "data": b64([]byte(sshKey)), "name": "deploy"}, &key)
	if key.CreateSecret.UUID == "" || key.CreateSecret.Name != "deploy" {
		t.Fatalf("created = %+v", key.CreateSecret)
	}
	var file struct {
		CreateSecret struct {
			Path string
			Mode int
		}
	}
	e.ok(e.aliceTok, create, map[string]any{"kind": "FILE", "data": b64([]byte("machine x password hunter2")),
		"name": "netrc", "path": "~/.netrc", "mode": 0o600}, &file)
	if file.CreateSecret.Path != "~/.netrc" || file.CreateSecret.Mode != 0o600 {
		t.Errorf("file secret = %+v", file.CreateSecret)
	}
	// Mistakes are reported and store nothing.
	e.fails(e.aliceTok, create, map[string]any{"kind": "FILE", "data": b64([]byte("x"))}, build.EINVALID, "needs the path")
	e.fails(e.aliceTok, create, map[string]any{"kind": "SSH_KEY", "data": b64([]byte("not a key"))}, build.EINVALID, "private key")
	e.fails(e.aliceTok, create, map[string]any{"kind": "SSH_KEY", "data": "%%%"}, build.EINVALID, "base64")
	e.fails(e.aliceTok, create, map[string]any{"kind": "SSH_KEY", "data": b64([]byte(sshKey)), "name": "deploy"}, build.ECONFLICT, "already have a secret named")

	list := `{ secrets { results { uuid name __typename } cursor } }`
	r := e.gql(e.aliceTok, list, nil)
	if len(r.Errors) > 0 || strings.Contains(string(r.Data), "very-secret") || strings.Contains(string(r.Data), "hunter2") {
		t.Fatalf("secrets listing: %s %+v", r.Data, r.Errors)
	}
	if n := strings.Count(string(r.Data), `"uuid"`); n != 2 {
		t.Errorf("listed %d secrets, want 2: %s", n, r.Data)
	}

	// A manifest may name a secret by name or UUID, only its owner's.
	m := goodManifest + "secrets:\n  - deploy\n  - " + key.CreateSecret.UUID + "\n"
	id := e.submitJob(e.aliceTok, map[string]any{"manifest": m})
	var js struct {
		Job struct{ Secrets []struct{ UUID string } }
	}
	e.ok(e.aliceTok, `query($id: Int!) { job(id: $id) { secrets { uuid } } }`, map[string]any{"id": id}, &js)
	if len(js.Job.Secrets) != 2 || js.Job.Secrets[0].UUID != key.CreateSecret.UUID {
		t.Errorf("job secrets = %+v", js.Job.Secrets)
	}
	before := e.jobCount(e.bob)
	e.fails(e.bobTok, submitQuery, map[string]any{"m": m}, build.EINVALID, "no such secret among yours")
	if e.jobCount(e.bob) != before {
		t.Error("a refused submission stored a job")
	}

	share := `mutation($uuid: String!, $user: String!) { shareSecret(uuid: $uuid, user: $user) { uuid name } }`
	var shared struct{ ShareSecret struct{ UUID, Name string } }
	e.ok(e.aliceTok, share, map[string]any{"uuid": key.CreateSecret.UUID, "user": "bob"}, &shared)
	if shared.ShareSecret.UUID == key.CreateSecret.UUID || shared.ShareSecret.Name != "~alice/deploy" {
		t.Errorf("shared copy = %+v", shared.ShareSecret)
	}
	r = e.gql(e.bobTok, list, nil)
	if !strings.Contains(string(r.Data), shared.ShareSecret.UUID) || strings.Contains(string(r.Data), key.CreateSecret.UUID) {
		t.Errorf("bob's secrets: %s", r.Data)
	}
	e.fails(e.bobTok, share, map[string]any{"uuid": key.CreateSecret.UUID, "user": "bob"}, build.ENOTFOUND, "no secret with UUID")
	e.fails(e.aliceTok, share, map[string]any{"uuid": key.CreateSecret.UUID, "user": "nobody"}, build.ENOTFOUND, "no user named")
}

const submitQuery = `mutation($m: String!) { submit(manifest: $m) { id } }`

func TestAccessBetweenUsers(t *testing.T) {
	e := newEnv(t)
	pub := e.submitJob(e.aliceTok, map[string]any{"visibility": "PUBLIC"})
	unl := e.submitJob(e.aliceTok, map[string]any{"visibility": "UNLISTED"})
	priv := e.submitJob(e.aliceTok, map[string]any{"visibility": "PRIVATE"})
	job := `query($id: Int!) { job(id: $id) { id manifest secrets { uuid } } }`

	for _, tok := range []string{e.bobTok, ""} {
		for _, id := range []int64{pub, unl} {
			var out struct {
				Job struct {
					ID       int64
					Manifest string
					Secrets  []any
				}
			}
			e.ok(tok, job, map[string]any{"id": id}, &out)
			if out.Job.ID != id || out.Job.Manifest == "" || out.Job.Secrets != nil {
				t.Errorf("job %d as %q: %+v", id, tok, out.Job)
			}
		}
		e.fails(tok, job, map[string]any{"id": priv}, build.ENOTFOUND, "no job with ID")
	}

	// Others see only public jobs in listings.
	var listing struct {
		UserByName struct {
			Jobs struct{ Results []struct{ ID int64 } }
		}
	}
	e.ok(e.bobTok, `{ userByName(username: "alice") { jobs { results { id } } } }`, nil, &listing)
	if r := listing.UserByName.Jobs.Results; len(r) != 1 || r[0].ID != pub {
		t.Errorf("bob sees alice's jobs %+v, want only %d", r, pub)
	}
	e.ok(e.aliceTok, `{ userByName(username: "alice") { jobs { results { id } } } }`, nil, &listing)
	if n := len(listing.UserByName.Jobs.Results); n != 3 {
		t.Errorf("alice sees %d of her jobs, want 3", n)
	}

	// Only the owner changes a job.
	cancel := `mutation($id: Int!) { cancel(jobId: $id) { id } }`
	e.fails(e.bobTok, cancel, map[string]any{"id": pub}, build.EFORBIDDEN, "only its owner")
	e.fails(e.bobTok, cancel, map[string]any{"id": priv}, build.ENOTFOUND, "no job with ID")
	if e.status(pub) != build.JobQueued || e.status(priv) != build.JobQueued {
		t.Error("a refused cancel changed a job")
	}

	// Anonymous callers read but never write, and have no "me".
	r := e.fails("", cancel, map[string]any{"id": pub}, build.EUNAUTHORIZED, "Authorization: Bearer")
	if r.Status != 401 {
		t.Errorf("anonymous mutation: HTTP %d, want 401", r.Status)
	}
	if r := e.fails("", `{ me { id } }`, nil, build.EUNAUTHORIZED, "authentication required"); r.Status != 401 {
		t.Errorf("anonymous me: HTTP %d, want 401", r.Status)
	}
}

func TestTokenGrants(t *testing.T) {
	e := newEnv(t)
	ro := e.token(e.alice, "JOBS:RO PROFILE:RO")
	id := e.submitJob(e.aliceTok, nil)
	e.ok(ro, `query($id: Int!) { job(id: $id) { id owner { canonicalName } } }`, map[string]any{"id": id}, nil)
	before := e.jobCount(e.alice)
	e.fails(ro, submitQuery, map[string]any{"m": goodManifest}, build.EFORBIDDEN, "lacks the JOBS:RW grant")
	e.fails(ro, `{ secrets { cursor } }`, nil, build.EFORBIDDEN, "lacks the SECRETS:RO grant")
	r := e.gql(ro, `query($id: Int!) { job(id: $id) { id log { fullURL } } }`, map[string]any{"id": id})
	if len(r.Errors) != 1 || r.Errors[0].Extensions.Code != build.EFORBIDDEN || !strings.Contains(string(r.Data), `"id"`) {
		t.Errorf("LOGS field without the grant: %s %+v", r.Data, r.Errors)
	}
	if e.jobCount(e.alice) != before {
		t.Error("a refused submission stored a job")
	}
	// Without SECRETS, a submission runs without secrets unless it asks.
	jobs := e.token(e.alice, "JOBS:RW")
	e.ok(jobs, submitQuery, map[string]any{"m": goodManifest}, nil)
	e.fails(jobs, `mutation($m: String!) { submit(manifest: $m, secrets: true) { id } }`, map[string]any{"m": goodManifest},
		build.EFORBIDDEN, "SECRETS:RO")
}
