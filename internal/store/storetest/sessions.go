package storetest

import (
	"testing"
	"time"

	"builds/internal/build"
	"builds/internal/store"
)

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	later := time.Now().Add(time.Hour)
	for _, h := range []string{"a1", "a2"} {
		must(t, s.CreateSession(ctx, []byte(h), alice.ID, later), "CreateSession "+h)
	}
	must(t, s.CreateSession(ctx, []byte("b1"), bob.ID, later), "CreateSession b1")
	wantCode(t, s.CreateSession(ctx, []byte("a1"), alice.ID, later), build.ECONFLICT, "same hash twice")
	wantCode(t, s.CreateSession(ctx, []byte("x"), bob.ID+100, later), build.ENOTFOUND, "unknown user")

	u, err := s.SessionUser(ctx, []byte("a1"))
	must(t, err, "SessionUser")
	if u.ID != alice.ID || u.Name != "alice" {
		t.Errorf("SessionUser(a1) = %+v, want alice", u)
	}
	_, err = s.SessionUser(ctx, []byte("nope"))
	wantCode(t, err, build.ENOTFOUND, "unknown session")

	// Logout ends that session only, and twice is harmless.
	must(t, s.DeleteSession(ctx, []byte("a1")), "DeleteSession")
	must(t, s.DeleteSession(ctx, []byte("a1")), "DeleteSession again")
	_, err = s.SessionUser(ctx, []byte("a1"))
	wantCode(t, err, build.ENOTFOUND, "session after logout")
	if _, err := s.SessionUser(ctx, []byte("a2")); err != nil {
		t.Errorf("other session ended by logout: %v", err)
	}

	// A password change ends all of the user's sessions, nobody else's.
	must(t, s.SetPassword(ctx, alice.ID, []byte("new-hash")), "SetPassword")
	_, err = s.SessionUser(ctx, []byte("a2"))
	wantCode(t, err, build.ENOTFOUND, "session after password change")
	if _, err := s.SessionUser(ctx, []byte("b1")); err != nil {
		t.Errorf("bob's session ended by alice's password change: %v", err)
	}

	// An administrator ends every session of a user.
	must(t, s.CreateSession(ctx, []byte("b2"), bob.ID, later), "CreateSession b2")
	n, err := s.DeleteUserSessions(ctx, bob.ID)
	must(t, err, "DeleteUserSessions")
	if n != 2 {
		t.Errorf("DeleteUserSessions ended %d sessions, want 2", n)
	}
	_, err = s.SessionUser(ctx, []byte("b2"))
	wantCode(t, err, build.ENOTFOUND, "session after DeleteUserSessions")
}

func testSessionExpiry(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := mkUser(t, s, "alice")
	must(t, s.CreateSession(ctx, []byte("old"), alice.ID, time.Now().Add(-time.Second)), "CreateSession expired")
	_, err := s.SessionUser(ctx, []byte("old"))
	wantCode(t, err, build.ENOTFOUND, "expired session")
	// Creating another session forgets the expired one, so its hash is free.
	must(t, s.CreateSession(ctx, []byte("new"), alice.ID, time.Now().Add(time.Hour)), "CreateSession")
	must(t, s.CreateSession(ctx, []byte("old"), alice.ID, time.Now().Add(time.Hour)), "reuse expired hash")
}

func testLoginLinks(t *testing.T, s store.Store) {
	ctx := t.Context()
	later := time.Now().Add(10 * time.Minute)
	first, err := s.UseLoginLink(ctx, "n1", later)
	must(t, err, "UseLoginLink")
	if !first {
		t.Error("first use of a link reported as used")
	}
	again, err := s.UseLoginLink(ctx, "n1", later)
	must(t, err, "UseLoginLink again")
	if again {
		t.Error("second use of a link accepted")
	}
	other, err := s.UseLoginLink(ctx, "n2", later)
	must(t, err, "UseLoginLink other")
	if !other {
		t.Error("another link refused")
	}
	// Expired records are forgotten (the link itself is refused earlier).
	_, err = s.UseLoginLink(ctx, "gone", time.Now().Add(-time.Second))
	must(t, err, "UseLoginLink expired")
	reuse, err := s.UseLoginLink(ctx, "gone", later)
	must(t, err, "UseLoginLink after expiry")
	if !reuse {
		t.Error("expired record not forgotten")
	}
}
