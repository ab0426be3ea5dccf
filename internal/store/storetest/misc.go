package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"builds/internal/build"
	"builds/internal/store"
)

func testArtifacts(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "alice")
	j := mkJob(t, s, u)
	a := &build.Artifact{JobID: j.ID, Path: "out/app.tar.gz", Name: "app.tar.gz", Size: 1234, URL: "http://127.0.0.1/a"}
	must(t, s.AddArtifact(ctx, a), "AddArtifact")
	b := &build.Artifact{JobID: j.ID, Path: "README", Name: "README", Size: 9, URL: "http://127.0.0.1/b"}
	must(t, s.AddArtifact(ctx, b), "AddArtifact")
	if a.ID == 0 || a.Created.IsZero() {
		t.Fatalf("AddArtifact did not fill ID, Created: %+v", a)
	}
	got, err := s.ListArtifacts(ctx, j.ID)
	must(t, err, "ListArtifacts")
	if diff := cmp.Diff([]*build.Artifact{a, b}, got); diff != "" {
		t.Errorf("ListArtifacts (-want +got):\n%s", diff)
	}
	dup := &build.Artifact{JobID: j.ID, Path: "other/README", Name: "README"}
	wantCode(t, s.AddArtifact(ctx, dup), build.ECONFLICT, "same name twice in a job")
	wantCode(t, s.AddArtifact(ctx, &build.Artifact{JobID: 1 << 40, Name: "x"}), build.ENOTFOUND, "unknown job")
	other, err := s.ListArtifacts(ctx, mkJob(t, s, u).ID)
	if err != nil || len(other) != 0 {
		t.Errorf("ListArtifacts of a job without artifacts = %v, %v", other, err)
	}
}

func testWebhooks(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	w := &build.Webhook{UserID: alice.ID, URL: "http://127.0.0.1:9/hook", Events: []string{"JOB_CREATED"}, Query: "query { me { id } }"}
	must(t, s.CreateWebhook(ctx, w), "CreateWebhook")
	if w.ID == 0 || w.Created.IsZero() {
		t.Fatalf("CreateWebhook did not fill ID, Created: %+v", w)
	}
	got, err := s.Webhook(ctx, w.ID)
	must(t, err, "Webhook")
	if diff := cmp.Diff(w, got); diff != "" {
		t.Errorf("Webhook (-want +got):\n%s", diff)
	}
	w2 := &build.Webhook{UserID: alice.ID, URL: "http://127.0.0.1:9/two"}
	must(t, s.CreateWebhook(ctx, w2), "CreateWebhook")
	list, err := s.ListWebhooks(ctx, alice.ID)
	must(t, err, "ListWebhooks")
	if diff := cmp.Diff([]*build.Webhook{w, w2}, list); diff != "" {
		t.Errorf("ListWebhooks (-want +got):\n%s", diff)
	}
	wantCode(t, s.DeleteWebhook(ctx, bob.ID, w.ID), build.ENOTFOUND, "delete someone else's webhook")
	must(t, s.DeleteWebhook(ctx, alice.ID, w.ID), "DeleteWebhook")
	_, err = s.Webhook(ctx, w.ID)
	wantCode(t, err, build.ENOTFOUND, "deleted webhook")
	wantCode(t, s.CreateWebhook(ctx, &build.Webhook{UserID: 1 << 40, URL: "x"}), build.ENOTFOUND, "unknown user")
}

func testSSHKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	k := &build.SSHPublicKey{UserID: alice.ID, Fingerprint: "SHA256:abc", Key: "ssh-ed25519 AAAA alice@x", Comment: "alice@x"}
	must(t, s.AddSSHKey(ctx, k), "AddSSHKey")
	if k.ID == 0 || k.Created.IsZero() {
		t.Fatalf("AddSSHKey did not fill ID, Created: %+v", k)
	}
	dup := &build.SSHPublicKey{UserID: alice.ID, Fingerprint: "SHA256:abc", Key: "ssh-ed25519 AAAA"}
	wantCode(t, s.AddSSHKey(ctx, dup), build.ECONFLICT, "same key twice")
	must(t, s.AddSSHKey(ctx, &build.SSHPublicKey{UserID: bob.ID, Fingerprint: "SHA256:abc", Key: "k"}), "same key, other user")
	list, err := s.ListSSHKeys(ctx, alice.ID)
	must(t, err, "ListSSHKeys")
	if diff := cmp.Diff([]*build.SSHPublicKey{k}, list); diff != "" {
		t.Errorf("ListSSHKeys (-want +got):\n%s", diff)
	}
	wantCode(t, s.DeleteSSHKey(ctx, bob.ID, k.ID), build.ENOTFOUND, "delete someone else's key")
	must(t, s.DeleteSSHKey(ctx, alice.ID, k.ID), "DeleteSSHKey")
	list, err = s.ListSSHKeys(ctx, alice.ID)
	if err != nil || len(list) != 0 {
		t.Errorf("ListSSHKeys after delete = %v, %v", list, err)
	}
}

// testNotFound checks that every lookup of an unknown ID is ENOTFOUND.
func testNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	const id = 1 << 40
	check := func(what string, err error) { t.Helper(); wantCode(t, err, build.ENOTFOUND, what) }
	_, err := s.UserByID(ctx, id)
	check("UserByID", err)
	_, err = s.UserByName(ctx, "nobody")
	check("UserByName", err)
	_, err = s.PasswordHash(ctx, id)
	check("PasswordHash", err)
	_, err = s.Job(ctx, id)
	check("Job", err)
	_, err = s.Group(ctx, id)
	check("Group", err)
	_, err = s.Secret(ctx, "00000000-0000-0000-0000-000000000000")
	check("Secret", err)
	_, err = s.Secret(ctx, "not-a-uuid")
	check("Secret with a malformed UUID", err)
	_, err = s.SecretByName(ctx, id, "x")
	check("SecretByName", err)
	_, err = s.Webhook(ctx, id)
	check("Webhook", err)
	check("DeleteWebhook", s.DeleteWebhook(ctx, id, id))
	check("DeleteSSHKey", s.DeleteSSHKey(ctx, id, id))
	check("DeleteSecret", s.DeleteSecret(ctx, id, "x"))
	check("RevokeToken", s.RevokeToken(ctx, id, id))
	check("CreateToken for unknown user", s.CreateToken(ctx, &build.Token{UserID: id}, []byte("h")))
}
