package api_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"builds/internal/build"
)

// A shared secret lands in the recipient's account as ~owner/name: it can
// never take the place of one of the recipient's own secrets in their
// builds, and no answer tells the sharer anything about the recipient's
// secrets.
func TestShareCannotShadowOrReveal(t *testing.T) {
	e := newEnv(t)
	create := `mutation($data: Binary!, $name: String) {
		createSecret(kind: FILE, data: $data, name: $name, path: "~/.netrc", mode: 384) { uuid name } }`
	share := `mutation($uuid: String!, $user: String!) { shareSecret(uuid: $uuid, user: $user) { uuid name } }`
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	type created struct{ CreateSecret struct{ UUID, Name string } }
	var bobs, bobsHidden, alices created
	e.ok(e.bobTok, create, map[string]any{"data": b64("machine git password bobs-own"), "name": "netrc"}, &bobs)
	e.ok(e.bobTok, create, map[string]any{"data": b64("x"), "name": "bob-private-name"}, &bobsHidden)
	e.ok(e.aliceTok, create, map[string]any{"data": b64("machine git password alices-trap"), "name": "netrc"}, &alices)

	var shared struct{ ShareSecret struct{ UUID, Name string } }
	e.ok(e.aliceTok, share, map[string]any{"uuid": alices.CreateSecret.UUID, "user": "~bob"}, &shared)
	if shared.ShareSecret.Name != "~alice/netrc" {
		t.Fatalf("shared copy named %q, want ~alice/netrc", shared.ShareSecret.Name)
	}
	// Bob's manifest naming "netrc" still gets his own secret.
	m := goodManifest + "secrets:\n  - netrc\n"
	id := e.submitJob(e.bobTok, map[string]any{"manifest": m})
	var js struct {
		Job struct{ Secrets []struct{ UUID string } }
	}
	e.ok(e.bobTok, `query($id: Int!) { job(id: $id) { secrets { uuid } } }`, map[string]any{"id": id}, &js)
	if len(js.Job.Secrets) != 1 || js.Job.Secrets[0].UUID != bobs.CreateSecret.UUID {
		t.Errorf("bob's job uses %+v, want his own secret %s", js.Job.Secrets, bobs.CreateSecret.UUID)
	}
	// He can use the shared one only by asking for it.
	id = e.submitJob(e.bobTok, map[string]any{"manifest": goodManifest + "secrets:\n  - ~alice/netrc\n"})
	e.ok(e.bobTok, `query($id: Int!) { job(id: $id) { secrets { uuid } } }`, map[string]any{"id": id}, &js)
	if len(js.Job.Secrets) != 1 || js.Job.Secrets[0].UUID != shared.ShareSecret.UUID {
		t.Errorf("bob's job naming ~alice/netrc uses %+v", js.Job.Secrets)
	}

	// Sharing a secret named like one of bob's others tells alice nothing.
	var probe created
	e.ok(e.aliceTok, create, map[string]any{"data": b64("y"), "name": "bob-private-name"}, &probe)
	r := e.gql(e.aliceTok, share, map[string]any{"uuid": probe.CreateSecret.UUID, "user": "bob"})
	if len(r.Errors) > 0 {
		t.Errorf("share named like bob's secret failed: %+v", r.Errors)
	}
	// Sharing again conflicts only within alice's own names.
	r = e.fails(e.aliceTok, share, map[string]any{"uuid": alices.CreateSecret.UUID, "user": "bob"}, build.ECONFLICT, "you already shared")
	for _, er := range r.Errors {
		if strings.Contains(er.Message, "bob-private-name") || strings.Contains(er.Message, bobs.CreateSecret.UUID) {
			t.Errorf("error reveals bob's secrets: %s", er.Message)
		}
	}
	// Nobody may create a name in the shared namespace themselves.
	e.fails(e.aliceTok, create, map[string]any{"data": b64("z"), "name": "~bob/netrc"}, build.EINVALID, "may not start with '~'")
}
