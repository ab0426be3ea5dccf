package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"builds/internal/build"
)

// TestJobPageBoundsLogText checks that a job with many large logs gives
// a page of bounded size that shows each task's tail and links its raw
// log.
func TestJobPageBoundsLogText(t *testing.T) {
	e := newEnv(t)
	j := &build.Job{OwnerID: e.users["alice"].ID, Manifest: testManifest, Image: "debian/stable", Arch: "amd64",
		Status: build.JobSuccess, Visibility: build.Public, Runner: "local"}
	for i := range 100 {
		j.Tasks = append(j.Tasks, build.Task{Name: fmt.Sprintf("t%d", i), Status: build.TaskSuccess})
	}
	if err := e.db.CreateJob(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	chunk := []byte(strings.Repeat(strings.Repeat("x", 63)+"\n", 1<<14)) // 1 MiB
	jl := e.logs.Job(j.ID, nil)
	for _, task := range j.Tasks {
		w, err := jl.Task(task.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(chunk)
		fmt.Fprintf(w, "last line of %s\n", task.Name)
		w.Close()
	}
	jl.Close()
	res := e.anon().get(fmt.Sprintf("/~alice/job/%d", j.ID))
	if res.code != 200 {
		t.Fatalf("job page: %d", res.code)
	}
	if n := len(res.body); n > 3<<20 {
		t.Errorf("the job page is %d bytes, past 3 MiB", n)
	}
	for _, task := range j.Tasks {
		for _, want := range []string{"last line of " + task.Name + "\n", fmt.Sprintf(`href="/~alice/job/%d/%s/log"`, j.ID, task.Name)} {
			if !strings.Contains(res.body, want) {
				t.Fatalf("the job page lacks %q", want)
			}
		}
	}
	if !strings.Contains(res.body, "Showing the end of the log.") {
		t.Error("the page does not say the logs are cut")
	}
}
