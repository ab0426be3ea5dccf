package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"builds/internal/build"
)

// TestSecretWithUUID uploads a secret under the UUID it had on
// builds.sr.ht; another user cannot take that UUID and is not told whose
// it is.
func TestSecretWithUUID(t *testing.T) {
	e := newEnv(t)
	const id = "2a6ed1c4-7e4c-4b47-9d3f-8f9a2f4f1c2e"
	form := url.Values{"name": {"netrc"}, "kind": {"plaintext_file"}, "data": {"x"}, "path": {"~/.netrc"}, "mode": {"600"}, "uuid": {id}}
	res := e.login("alice").post("/secrets", "/secrets", form)
	if res.code != 200 || !strings.Contains(res.body, "Secret "+id+" added") {
		t.Fatalf("add with UUID = %d\n%s", res.code, res.body)
	}
	form.Set("name", "other")
	res = e.login("bob").post("/secrets", "/secrets", form)
	if res.code != http.StatusConflict || !strings.Contains(res.body, "taken by another secret") || strings.Contains(res.body, "alice") {
		t.Errorf("bob taking alice's UUID = %d\n%s", res.code, res.body)
	}
}

// TestOldSecretURLs checks that builds.sr.ht's secret URLs lead to ours.
func TestOldSecretURLs(t *testing.T) {
	e := newEnv(t)
	a := e.login("alice")
	const id = "2a6ed1c4-7e4c-4b47-9d3f-8f9a2f4f1c2e"
	for _, action := range []string{"delete", "share"} {
		res := a.get("/secret/" + action + "/" + id)
		if res.code != http.StatusFound || res.hdr.Get("Location") != "/secrets#"+id {
			t.Errorf("GET /secret/%s: %d to %q", action, res.code, res.hdr.Get("Location"))
		}
		res = a.postRaw("/secret/"+action+"/"+id, url.Values{})
		if res.code != http.StatusTemporaryRedirect || res.hdr.Get("Location") != "/secrets/"+id+"/"+action {
			t.Errorf("POST /secret/%s: %d to %q", action, res.code, res.hdr.Get("Location"))
		}
	}
	if res := a.get("/secret/delete/not-a-uuid"); res.code != http.StatusNotFound {
		t.Errorf("old URL with a bad UUID = %d", res.code)
	}
}

// TestSubmitPrefill checks that /submit?manifest=...&note=... fills the
// form in, as links made for builds.sr.ht expect, and submits nothing.
func TestSubmitPrefill(t *testing.T) {
	e := newEnv(t)
	q := url.Values{"manifest": {"image: debian/stable\ntasks:\n  - hi: echo <hi>\n"}, "note": {"from a link"}}
	res := e.login("alice").get("/submit?" + q.Encode())
	if res.code != 200 {
		t.Fatalf("GET /submit = %d", res.code)
	}
	mustContain(t, res.body, "  - hi: echo &lt;hi&gt;\n</textarea>", ">from a link</textarea>")
}

// TestSearchBox checks the search terms builds.sr.ht's search box takes.
func TestSearchBox(t *testing.T) {
	e := newEnv(t)
	a := e.login("alice")
	mk := func(note, image string, tags ...string) int64 {
		j := &build.Job{OwnerID: e.users["alice"].ID, Manifest: "image: " + image + "\ntasks: [{a: b}]\n", Note: note,
			Tags: tags, Visibility: build.Public, Status: build.JobQueued, Image: image, Arch: "amd64"}
		if err := e.db.CreateJob(t.Context(), j); err != nil {
			t.Fatal(err)
		}
		return j.ID
	}
	rel := mk("Release candidate", "alpine/edge", "proj", "main")
	nightly := mk("nightly run", "debian/stable", "proj", "dev")
	if _, err := e.db.SetJobStatus(t.Context(), nightly, build.JobRunning, "r"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		search    string
		want, not int64
	}{
		{"release", rel, nightly},
		{"status:running", nightly, rel},
		{"image:alpine/edge", rel, nightly},
		{"tags:proj/dev", nightly, rel},
		{"status:queued candidate", rel, nightly},
	} {
		body := a.get("/?" + url.Values{"search": {tc.search}}.Encode()).body
		if !strings.Contains(body, fmt.Sprintf(`/job/%d"`, tc.want)) || strings.Contains(body, fmt.Sprintf(`/job/%d"`, tc.not)) {
			t.Errorf("search %q: want job %d and not %d", tc.search, tc.want, tc.not)
		}
	}
}

// TestJobSettingsDetails checks the job's visibility page at the address
// builds.sr.ht gives it: its owner changes the visibility, others cannot.
func TestJobSettingsDetails(t *testing.T) {
	e := newEnv(t)
	j := e.job("alice", build.Public)
	page := fmt.Sprintf("/~alice/job/%d/settings/details", j.ID)
	a := e.login("alice")
	res := a.get(page)
	if res.code != 200 {
		t.Fatalf("GET %s = %d", page, res.code)
	}
	mustContain(t, res.body, `value="PUBLIC" checked`)
	res = a.post(page, page, url.Values{"visibility": {"PRIVATE"}})
	if res.code != 200 || !strings.Contains(res.body, "Visibility set to PRIVATE") {
		t.Fatalf("save = %d\n%s", res.code, res.body)
	}
	if got, _ := e.db.Job(t.Context(), j.ID); got.Visibility != build.Private {
		t.Errorf("visibility = %s", got.Visibility)
	}
	if res := e.login("bob").get(page); res.code != http.StatusNotFound {
		t.Errorf("bob on alice's private job's settings = %d, want 404", res.code)
	}
	if res := a.post(page, page, url.Values{"visibility": {"SECRET"}}); res.code != http.StatusBadRequest {
		t.Errorf("unknown visibility = %d", res.code)
	}
	pub := e.job("alice", build.Public)
	other := fmt.Sprintf("/~alice/job/%d/settings/details", pub.ID)
	if res := e.login("bob").get(other); res.code != http.StatusForbidden {
		t.Errorf("bob on alice's public job's settings = %d, want 403", res.code)
	}
}
