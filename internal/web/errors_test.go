package web_test

import (
	"fmt"
	"net/url"
	"testing"

	"builds/internal/build"
	"builds/internal/httpx"
)

// TestErrorStatusesMatchTheAPI checks that the web pages report each kind
// of domain error with the status the API gives it.
func TestErrorStatusesMatchTheAPI(t *testing.T) {
	e := newEnv(t)
	j := e.job("alice", build.Public)
	page := fmt.Sprintf("/~alice/job/%d", j.ID)
	cancel := fmt.Sprintf("/cancel/%d", j.ID)
	alice := e.login("alice")
	if res := alice.post(page, cancel, url.Values{}); res.code != 303 {
		t.Fatalf("first cancel: status %d\n%s", res.code, res.body)
	}
	cases := []struct {
		name string
		code string
		res  response
	}{
		{"missing job", build.ENOTFOUND, e.anon().get("/~alice/job/999999/status.json")},
		{"missing job page", build.ENOTFOUND, e.anon().get("/~alice/job/999999")},
		{"form without CSRF token", build.EFORBIDDEN, alice.postRaw(cancel, url.Values{})},
		{"anonymous cancel", build.EUNAUTHORIZED, e.anon().post("/login", cancel, url.Values{})},
		{"second cancel", build.ECONFLICT, alice.post(page, cancel, url.Values{})},
	}
	for _, c := range cases {
		if want := httpx.HTTPStatus(c.code); c.res.code != want {
			t.Errorf("%s: status %d, want %d (%s)", c.name, c.res.code, want, c.code)
		}
	}
}
