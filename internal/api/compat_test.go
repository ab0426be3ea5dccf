package api_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TestGraphQLSecretFromUser checks that secrets answer fromUser, the
// original schema's name, and still the deprecated from_user.
func TestGraphQLSecretFromUser(t *testing.T) {
	e := newEnv(t)
	var out struct {
		Type struct {
			Fields []struct {
				Name              string
				IsDeprecated      bool
				DeprecationReason *string
			}
		} `json:"__type"`
	}
	for _, typ := range []string{"Secret", "SSHKey", "PGPKey", "SecretFile"} {
		e.ok(e.aliceTok, `query($t: String!) { __type(name: $t) { fields(includeDeprecated: true) { name isDeprecated deprecationReason } } }`,
			map[string]any{"t": typ}, &out)
		got := map[string]bool{}
		for _, f := range out.Type.Fields {
			got[f.Name] = f.IsDeprecated
		}
		if dep, ok := got["fromUser"]; !ok || dep {
			t.Errorf("%s: fromUser missing or deprecated: %+v", typ, out.Type.Fields)
		}
		if dep, ok := got["from_user"]; !ok || !dep {
			t.Errorf("%s: from_user missing or not deprecated: %+v", typ, out.Type.Fields)
		}
	}
	create := `mutation($data: Binary!) { createSecret(kind: FILE, data: $data, path: "~/x", mode: 384) { uuid } }`
	e.ok(e.aliceTok, create, map[string]any{"data": base64.StdEncoding.EncodeToString([]byte("x"))}, nil)
	var list struct {
		Secrets struct {
			Results []map[string]any
		}
	}
	e.ok(e.aliceTok, `{ secrets { results { uuid fromUser { canonicalName } from_user { canonicalName } } } }`, nil, &list)
	if len(list.Secrets.Results) != 1 {
		t.Fatalf("secrets = %+v", list)
	}
	r := list.Secrets.Results[0]
	if v, ok := r["fromUser"]; !ok || v != nil {
		t.Errorf("fromUser of an uploaded secret = %v", v)
	}
	if v, ok := r["from_user"]; !ok || v != nil {
		t.Errorf("from_user of an uploaded secret = %v", v)
	}
}

func TestGraphQLJobWarnings(t *testing.T) {
	e := newEnv(t)
	var out struct {
		Submit struct{ Warnings []string }
	}
	e.ok(e.aliceTok, `mutation($m: String!) { submit(manifest: $m, execute: false) { warnings } }`,
		map[string]any{"m": goodManifest + "x-anchors: &a {}\n"}, &out)
	if len(out.Submit.Warnings) != 1 || !strings.Contains(out.Submit.Warnings[0], `unknown key "x-anchors"`) {
		t.Errorf("warnings = %q", out.Submit.Warnings)
	}
	e.ok(e.aliceTok, `mutation($m: String!) { submit(manifest: $m, execute: false) { warnings } }`,
		map[string]any{"m": goodManifest}, &out)
	if out.Submit.Warnings == nil || len(out.Submit.Warnings) != 0 {
		t.Errorf("warnings of a clean manifest = %#v, want []", out.Submit.Warnings)
	}
}

func TestAPIMeta(t *testing.T) {
	e := newEnv(t)
	status, raw := e.do("GET", "/query/api-meta.json", "", "", nil)
	var meta struct{ Scopes []string }
	if err := json.Unmarshal(raw, &meta); status != 200 || err != nil {
		t.Fatalf("api-meta.json: %d %s %v", status, raw, err)
	}
	if strings.Join(meta.Scopes, " ") != "PROFILE JOBS LOGS SECRETS" {
		t.Errorf("scopes = %q", meta.Scopes)
	}
}

// TestSubmitSecretsDefault checks builds.sr.ht's default for secrets:
// on only when the manifest uses secrets (or oauth) and the token may read
// secrets.
func TestSubmitSecretsDefault(t *testing.T) {
	e := newEnv(t)
	var created struct{ CreateSecret struct{ UUID string } }
	e.ok(e.aliceTok, `mutation($data: Binary!) { createSecret(kind: FILE, data: $data, path: "~/x", mode: 384) { uuid } }`,
		map[string]any{"data": base64.StdEncoding.EncodeToString([]byte("x"))}, &created)
	withSecret := goodManifest + "secrets: [" + created.CreateSecret.UUID + "]\n"
	withOAuth := goodManifest + "oauth: JOBS:RO\n"
	noSecrets := e.token(e.alice, "JOBS:RW PROFILE:RO")
	for _, tc := range []struct {
		name, token, manifest string
		want                  bool
	}{
		{"no secrets listed", e.aliceTok, goodManifest, false},
		{"secrets listed", e.aliceTok, withSecret, true},
		{"oauth", e.aliceTok, withOAuth, true},
		{"token without SECRETS", noSecrets, withOAuth, false},
	} {
		id := e.submitJob(tc.token, map[string]any{"manifest": tc.manifest, "execute": false})
		j, err := e.store.Job(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Secrets != tc.want {
			t.Errorf("%s: secrets = %v, want %v", tc.name, j.Secrets, tc.want)
		}
	}
}

// TestCreateSecretWithUUID checks that a secret keeps the UUID it is
// uploaded with, and that another user cannot take it.
func TestCreateSecretWithUUID(t *testing.T) {
	e := newEnv(t)
	const id = "2a6ed1c4-7e4c-4b47-9d3f-8f9a2f4f1c2e"
	create := `mutation($data: Binary!, $uuid: String) { createSecret(kind: FILE, data: $data, path: "~/x", mode: 384, uuid: $uuid) { uuid } }`
	vars := map[string]any{"data": base64.StdEncoding.EncodeToString([]byte("x")), "uuid": id}
	var out struct{ CreateSecret struct{ UUID string } }
	e.ok(e.aliceTok, create, vars, &out)
	if out.CreateSecret.UUID != id {
		t.Errorf("uuid = %q, want %q", out.CreateSecret.UUID, id)
	}
	r := e.fails(e.bobTok, create, vars, "conflict", "taken by another secret")
	if strings.Contains(r.Errors[0].Message, "alice") {
		t.Errorf("the refusal names the owner: %s", r.Errors[0].Message)
	}
}
