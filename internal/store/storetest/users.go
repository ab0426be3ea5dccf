package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"builds/internal/build"
	"builds/internal/store"
)

func testUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := &build.User{Name: "alice", Email: "alice@example.org", Admin: true}
	must(t, s.CreateUser(ctx, u), "CreateUser")
	if u.ID == 0 || u.Created.IsZero() {
		t.Fatalf("CreateUser did not fill ID and Created: %+v", u)
	}
	byID, err := s.UserByID(ctx, u.ID)
	must(t, err, "UserByID")
	if diff := cmp.Diff(u, byID); diff != "" {
		t.Errorf("UserByID (-want +got):\n%s", diff)
	}
	byName, err := s.UserByName(ctx, "alice")
	must(t, err, "UserByName")
	if diff := cmp.Diff(u, byName); diff != "" {
		t.Errorf("UserByName (-want +got):\n%s", diff)
	}
	wantCode(t, s.CreateUser(ctx, &build.User{Name: "alice"}), build.ECONFLICT, "duplicate name")
	bob := mkUser(t, s, "bob")
	if bob.ID == u.ID {
		t.Error("two users share an ID")
	}
}

func testPasswords(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "alice")
	_, err := s.PasswordHash(ctx, u.ID)
	wantCode(t, err, build.ENOTFOUND, "PasswordHash before SetPassword")
	must(t, s.SetPassword(ctx, u.ID, []byte("hash-1")), "SetPassword")
	must(t, s.SetPassword(ctx, u.ID, []byte("hash-2")), "SetPassword again")
	got, err := s.PasswordHash(ctx, u.ID)
	must(t, err, "PasswordHash")
	if !bytes.Equal(got, []byte("hash-2")) {
		t.Errorf("PasswordHash = %q, want hash-2", got)
	}
	wantCode(t, s.SetPassword(ctx, u.ID+100, []byte("x")), build.ENOTFOUND, "SetPassword unknown user")
}

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	grants, _ := build.ParseGrants("JOBS:RW LOGS:RO")
	tok := &build.Token{UserID: alice.ID, Name: "ci", Grants: grants}
	must(t, s.CreateToken(ctx, tok, []byte("hash-a")), "CreateToken")
	if tok.ID == 0 || tok.Created.IsZero() {
		t.Fatalf("CreateToken did not fill ID and Created: %+v", tok)
	}
	wantCode(t, s.CreateToken(ctx, &build.Token{UserID: bob.ID}, []byte("hash-a")), build.ECONFLICT, "same hash twice")

	got, user, err := s.TokenByHash(ctx, []byte("hash-a"))
	must(t, err, "TokenByHash")
	if user.ID != alice.ID || user.Name != "alice" {
		t.Errorf("TokenByHash user = %+v, want alice", user)
	}
	if got.LastUsed.IsZero() || time.Since(got.LastUsed) > time.Minute {
		t.Errorf("TokenByHash LastUsed = %v, want about now", got.LastUsed)
	}
	if diff := cmp.Diff(tok, got, cmp.FilterPath(isLastUsed, cmp.Ignore())); diff != "" {
		t.Errorf("TokenByHash (-want +got):\n%s", diff)
	}
	list, err := s.ListTokens(ctx, alice.ID)
	must(t, err, "ListTokens")
	if len(list) != 1 || list[0].ID != tok.ID || list[0].LastUsed.IsZero() {
		t.Errorf("ListTokens = %+v, want the one token, used", list)
	}
	_, _, err = s.TokenByHash(ctx, []byte("hash-b"))
	wantCode(t, err, build.ENOTFOUND, "unknown hash")

	wantCode(t, s.RevokeToken(ctx, bob.ID, tok.ID), build.ENOTFOUND, "revoke someone else's token")
	must(t, s.RevokeToken(ctx, alice.ID, tok.ID), "RevokeToken")
	_, _, err = s.TokenByHash(ctx, []byte("hash-a"))
	wantCode(t, err, build.ENOTFOUND, "revoked token")
	wantCode(t, s.RevokeToken(ctx, alice.ID, tok.ID), build.ENOTFOUND, "revoke twice")
}

func isLastUsed(p cmp.Path) bool { return p.Last().String() == ".LastUsed" }

func testTokenExpiry(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "alice")
	past := &build.Token{UserID: u.ID, Expires: time.Now().Add(-time.Second)}
	must(t, s.CreateToken(ctx, past, []byte("old")), "CreateToken expired")
	future := &build.Token{UserID: u.ID, Expires: time.Now().Add(time.Hour)}
	must(t, s.CreateToken(ctx, future, []byte("new")), "CreateToken unexpired")
	_, _, err := s.TokenByHash(ctx, []byte("old"))
	wantCode(t, err, build.ENOTFOUND, "expired token")
	got, _, err := s.TokenByHash(ctx, []byte("new"))
	must(t, err, "unexpired token")
	if !got.Expires.Equal(future.Expires.UTC().Truncate(time.Microsecond)) {
		t.Errorf("Expires = %v, want %v", got.Expires, future.Expires)
	}
	list, err := s.ListTokens(ctx, u.ID)
	must(t, err, "ListTokens")
	if len(list) != 2 {
		t.Errorf("ListTokens has %d tokens, want 2 (expired ones too)", len(list))
	}
}
