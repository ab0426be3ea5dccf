package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"builds/internal/build"
)

// A group's note and triggers (email addresses, webhook URLs with their
// tokens) are its owner's business: others who can see one of its jobs see
// the group, but not those.
func TestGroupDetailsOnlyForOwner(t *testing.T) {
	e := newEnv(t)
	a := e.submitJob(e.aliceTok, map[string]any{"execute": false, "visibility": "PUBLIC"})
	var out struct{ CreateGroup struct{ ID int64 } }
	e.ok(e.aliceTok, `mutation($ids: [Int!]!) {
		createGroup(jobIds: $ids, execute: false, note: "deploy key rotation", triggers: [
			{type: EMAIL, condition: ALWAYS, email: {to: "ops@alice.example"}},
			{type: WEBHOOK, condition: ALWAYS, webhook: {url: "https://hooks.example/x?token=s3cr3t"}}]) { id } }`,
		map[string]any{"ids": []int64{a}}, &out)

	q := `query($id: Int!) { job(id: $id) { group { id note triggers { condition ... on EmailTrigger { to } ... on WebhookTrigger { url } } } } }`
	for _, who := range []struct{ name, tok string }{{"bob", e.bobTok}, {"anonymous", ""}} {
		r := e.gql(who.tok, q, map[string]any{"id": a})
		if len(r.Errors) > 0 {
			t.Fatalf("%s: %+v", who.name, r.Errors)
		}
		body := string(r.Data)
		if !strings.Contains(body, fmt.Sprintf(`"id":%d`, out.CreateGroup.ID)) {
			t.Errorf("%s does not see the group at all: %s", who.name, body)
		}
		for _, leak := range []string{"deploy key rotation", "ops@alice.example", "s3cr3t"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s sees %q through GraphQL: %s", who.name, leak, body)
			}
		}
		status, raw := e.do("GET", fmt.Sprintf("/api/job-group/%d", out.CreateGroup.ID), who.tok, "", nil)
		if status != http.StatusOK {
			t.Fatalf("%s REST job-group = %d %s", who.name, status, raw)
		}
		for _, leak := range []string{"deploy key rotation", "ops@alice.example", "s3cr3t"} {
			if strings.Contains(string(raw), leak) {
				t.Errorf("%s sees %q through REST: %s", who.name, leak, raw)
			}
		}
	}
	r := e.gql(e.aliceTok, q, map[string]any{"id": a})
	for _, want := range []string{"deploy key rotation", "ops@alice.example", "s3cr3t"} {
		if !strings.Contains(string(r.Data), want) {
			t.Errorf("the owner does not see %q: %s", want, r.Data)
		}
	}
	_, raw := e.do("GET", fmt.Sprintf("/api/job-group/%d", out.CreateGroup.ID), e.aliceTok, "", nil)
	var g struct {
		Note     *string
		Triggers []json.RawMessage
	}
	json.Unmarshal(raw, &g)
	if g.Note == nil || *g.Note != "deploy key rotation" || len(g.Triggers) != 2 {
		t.Errorf("the owner's REST view = %s", raw)
	}
}

// Webhook subscriptions act for the account: reading them needs JOBS:RO,
// creating or deleting one JOBS:RW.
func TestWebhookGrants(t *testing.T) {
	e := newEnv(t)
	ro := e.token(e.alice, "JOBS:RO")
	profile := e.token(e.alice, "PROFILE:RO")
	create := `mutation { createUserWebhook(config: {url: "https://hooks.example/a", events: [JOB_CREATED],
		query: "query { me { id } }"}) { id } }`
	e.fails(ro, create, nil, build.EFORBIDDEN, "JOBS:RW")
	e.fails(profile, create, nil, build.EFORBIDDEN, "JOBS:RW")
	var made struct{ CreateUserWebhook struct{ ID int64 } }
	e.ok(e.aliceTok, create, nil, &made)

	list := `{ userWebhooks { results { id url } } }`
	e.fails(profile, list, nil, build.EFORBIDDEN, "JOBS:RO")
	e.fails(profile, `query($id: Int!) { userWebhook(id: $id) { url } }`, map[string]any{"id": made.CreateUserWebhook.ID}, build.EFORBIDDEN, "JOBS:RO")
	r := e.gql(ro, list, nil)
	if len(r.Errors) > 0 || !strings.Contains(string(r.Data), "hooks.example/a") {
		t.Errorf("JOBS:RO cannot list webhooks: %s %+v", r.Data, r.Errors)
	}
	del := `mutation($id: Int!) { deleteUserWebhook(id: $id) { id } }`
	e.fails(ro, del, map[string]any{"id": made.CreateUserWebhook.ID}, build.EFORBIDDEN, "JOBS:RW")
	e.ok(e.aliceTok, del, map[string]any{"id": made.CreateUserWebhook.ID}, nil)
}
