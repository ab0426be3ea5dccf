package storetest

import (
	"bytes"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"builds/internal/build"
	"builds/internal/store"
)

func testSecrets(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	key := &build.Secret{OwnerID: alice.ID, Name: "deploy", Kind: build.SecretSSHKey, Data: []byte("PRIVATE KEY")}
	must(t, s.CreateSecret(ctx, key), "CreateSecret")
	if key.ID == 0 || len(key.UUID) != 36 || key.Created.IsZero() {
		t.Fatalf("CreateSecret did not fill ID, UUID, Created: %+v", key)
	}
	file := &build.Secret{OwnerID: alice.ID, Kind: build.SecretFile, Path: "~/.netrc", Mode: 0o600, Data: []byte("machine x")}
	must(t, s.CreateSecret(ctx, file), "CreateSecret file")
	unnamed := &build.Secret{OwnerID: alice.ID, Kind: build.SecretPGPKey, Data: []byte("PGP")}
	must(t, s.CreateSecret(ctx, unnamed), "second unnamed secret")

	got, err := s.Secret(ctx, file.UUID)
	must(t, err, "Secret")
	if diff := cmp.Diff(file, got); diff != "" {
		t.Errorf("Secret (-want +got):\n%s", diff)
	}
	got, err = s.SecretByName(ctx, alice.ID, "deploy")
	must(t, err, "SecretByName")
	if got.UUID != key.UUID || !bytes.Equal(got.Data, []byte("PRIVATE KEY")) {
		t.Errorf("SecretByName = %+v", got)
	}
	_, err = s.SecretByName(ctx, bob.ID, "deploy")
	wantCode(t, err, build.ENOTFOUND, "SecretByName of another owner")

	dup := &build.Secret{OwnerID: alice.ID, Name: "deploy", Kind: build.SecretPGPKey, Data: []byte("x")}
	wantCode(t, s.CreateSecret(ctx, dup), build.ECONFLICT, "duplicate name")
	shared := &build.Secret{OwnerID: bob.ID, Name: "deploy", Kind: got.Kind, Data: got.Data}
	must(t, s.CreateSecret(ctx, shared), "share to bob under the same name")
	wantCode(t, s.CreateSecret(ctx, &build.Secret{OwnerID: alice.ID, Kind: "password"}), build.EINVALID, "bad kind")
	wantCode(t, s.CreateSecret(ctx, &build.Secret{OwnerID: alice.ID, Kind: build.SecretFile}), build.EINVALID, "file without path")

	checkSecretList(t, s, alice.ID, []string{unnamed.UUID, file.UUID, key.UUID})

	wantCode(t, s.DeleteSecret(ctx, bob.ID, key.UUID), build.ENOTFOUND, "delete someone else's secret")
	must(t, s.DeleteSecret(ctx, alice.ID, key.UUID), "DeleteSecret")
	_, err = s.Secret(ctx, key.UUID)
	wantCode(t, err, build.ENOTFOUND, "deleted secret")
	wantCode(t, s.DeleteSecret(ctx, alice.ID, key.UUID), build.ENOTFOUND, "delete twice")
	if _, err := s.Secret(ctx, shared.UUID); err != nil {
		t.Errorf("deleting the original removed the shared copy: %v", err)
	}
}

// checkSecretList checks that ListSecrets returns want, newest first,
// without data.
func checkSecretList(t *testing.T, s store.Store, ownerID int64, want []string) {
	t.Helper()
	list, next, err := s.ListSecrets(t.Context(), ownerID, 0, 0)
	must(t, err, "ListSecrets")
	var uuids []string
	for _, sec := range list {
		uuids = append(uuids, sec.UUID)
		if sec.Data != nil {
			t.Errorf("ListSecrets returned data for %s", sec.UUID)
		}
	}
	if !slices.Equal(uuids, want) || next != 0 {
		t.Errorf("ListSecrets = %v, cursor %d; want %v, 0", uuids, next, want)
	}
}

func testSecretPages(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "alice")
	for range 7 {
		must(t, s.CreateSecret(ctx, &build.Secret{OwnerID: u.ID, Kind: build.SecretPGPKey, Data: []byte("k")}), "CreateSecret")
	}
	seen := map[string]bool{}
	var before int64
	for pages := 0; ; pages++ {
		list, next, err := s.ListSecrets(ctx, u.ID, before, 3)
		must(t, err, "ListSecrets")
		for _, sec := range list {
			seen[sec.UUID] = true
		}
		if next == 0 {
			break
		}
		if pages > 3 {
			t.Fatal("secret cursor never ends")
		}
		before = next
	}
	if len(seen) != 7 {
		t.Errorf("paging saw %d secrets, want 7", len(seen))
	}
}
