package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

const sshPub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"

func TestSecretsPage(t *testing.T) {
	e := newEnv(t)
	a := e.login("alice")
	value := "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0IGtleSBtYXRlcmlhbA==\n-----END OPENSSH PRIVATE KEY-----"
	res := a.post("/secrets", "/secrets", url.Values{"name": {"deploy"}, "kind": {"ssh_key"}, "data": {value}})
	if res.code != 200 {
		t.Fatalf("add secret = %d\n%s", res.code, res.body)
	}
	mustContain(t, res.body, "will not be shown again", "deploy", "ssh_key")
	if strings.Contains(res.body, "c2VjcmV0") {
		t.Fatal("the secrets page shows the secret's value")
	}
	uuid := regexp.MustCompile(`/secrets/([0-9a-f-]{36})/delete`).FindStringSubmatch(res.body)[1]
	sec, err := e.db.Secret(context.Background(), uuid)
	if err != nil || !strings.HasSuffix(string(sec.Data), "KEY-----\n") {
		t.Fatalf("stored secret %q, %v: want the key with a final newline", sec.Data, err)
	}

	bad := a.post("/secrets", "/secrets", url.Values{"kind": {"plaintext_file"}, "data": {"x"}, "path": {"~/f"}, "mode": {"9z"}})
	if bad.code != http.StatusBadRequest || !strings.Contains(bad.body, "octal") {
		t.Errorf("bad mode = %d", bad.code)
	}
	empty := a.post("/secrets", "/secrets", url.Values{"kind": {"ssh_key"}})
	if empty.code != http.StatusBadRequest {
		t.Errorf("empty secret = %d", empty.code)
	}

	shared := a.post("/secrets", "/secrets/"+uuid+"/share", url.Values{"user": {"~bob"}})
	if shared.code != 200 || !strings.Contains(shared.body, "Shared with ~bob") {
		t.Errorf("share = %d", shared.code)
	}
	if !strings.Contains(e.login("bob").get("/secrets").body, "deploy") {
		t.Error("bob does not have the shared secret")
	}
	// Bob cannot delete alice's secret.
	if res := e.login("bob").post("/secrets", "/secrets/"+uuid+"/delete", url.Values{}); res.code != http.StatusNotFound {
		t.Errorf("bob deleting alice's secret = %d, want 404", res.code)
	}
	del := a.post("/secrets", "/secrets/"+uuid+"/delete", url.Values{})
	if del.code != 200 || strings.Contains(del.body, "/secrets/"+uuid+"/delete") {
		t.Errorf("delete = %d, or still listed", del.code)
	}
}

func TestTokensAndSSHKeys(t *testing.T) {
	e := newEnv(t)
	a := e.login("alice")
	res := a.post("/settings", "/settings/tokens", url.Values{"name": {"laptop"}, "scope-JOBS": {"RW"},
		"scope-LOGS": {"RO"}, "expires": {"30"}})
	if res.code != 200 {
		t.Fatalf("create token = %d\n%s", res.code, res.body)
	}
	mustContain(t, res.body, `id="new-token">bld_test`, "laptop", "JOBS:RW", "LOGS:RO")
	if page := a.get("/settings").body; strings.Contains(page, `id="new-token"`) {
		t.Error("the token value is shown again")
	}
	none := a.post("/settings", "/settings/tokens", url.Values{"name": {"x"}})
	if none.code != http.StatusBadRequest {
		t.Errorf("token without scopes = %d", none.code)
	}
	toks, _ := e.db.ListTokens(context.Background(), e.users["alice"].ID)
	if len(toks) != 1 {
		t.Fatalf("%d tokens stored", len(toks))
	}
	rev := a.post("/settings", fmt.Sprintf("/settings/tokens/%d/revoke", toks[0].ID), url.Values{})
	if rev.code != 200 || strings.Contains(rev.body, "<td>laptop<br>") {
		t.Errorf("revoke = %d or still listed", rev.code)
	}

	add := a.post("/settings", "/settings/ssh-keys", url.Values{"key": {sshPub}})
	if add.code != 200 {
		t.Fatalf("add key = %d\n%s", add.code, add.body)
	}
	mustContain(t, add.body, "SHA256:", "alice@laptop")
	if dup := a.post("/settings", "/settings/ssh-keys", url.Values{"key": {sshPub}}); dup.code != http.StatusConflict {
		t.Errorf("duplicate key = %d", dup.code)
	}
	if junk := a.post("/settings", "/settings/ssh-keys", url.Values{"key": {"not a key"}}); junk.code != http.StatusBadRequest {
		t.Errorf("junk key = %d", junk.code)
	}
	keys, _ := e.db.ListSSHKeys(context.Background(), e.users["alice"].ID)
	del := a.post("/settings", fmt.Sprintf("/settings/ssh-keys/%d/delete", keys[0].ID), url.Values{})
	if del.code != 200 || strings.Contains(del.body, "alice@laptop") {
		t.Errorf("delete key = %d or still listed", del.code)
	}
}
