package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"

	"builds/internal/build"
)

// BenchmarkSubmit measures submissions per second through GraphQL over
// HTTP on SQLite: authentication, parsing, validation, storing the job and
// its tasks, and queueing it.
func BenchmarkSubmit(b *testing.B) {
	e := newEnv(b)
	body, _ := json.Marshal(map[string]any{"query": submitQuery, "variables": map[string]any{"m": goodManifest}})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := post(client, e.srv.URL+"/query", e.aliceTok, body); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "submissions/s")
}

// BenchmarkJobList measures listing jobs with 100,000 jobs stored.
func BenchmarkJobList(b *testing.B) {
	e := newEnv(b)
	const n = 100_000
	ctx := context.Background()
	var middle int64
	for i := range n {
		vis := build.Unlisted
		if i%10 == 0 {
			vis = build.Public
		}
		j := &build.Job{OwnerID: e.alice.ID, Manifest: goodManifest, Image: "debian/bookworm", Arch: "amd64",
			Status: build.JobSuccess, Visibility: vis, Tags: []string{"proj", "main"},
			Tasks: []build.Task{{Name: "build", Status: build.TaskSuccess}, {Name: "test", Status: build.TaskSuccess}}}
		if err := e.store.CreateJob(ctx, j); err != nil {
			b.Fatal(err)
		}
		if i == n/2 {
			middle = j.ID
		}
	}
	fields := `results { id status tags visibility owner { canonicalName } tasks { name status } } cursor`
	mine := `query($c: Cursor) { jobs(cursor: $c) { ` + fields + ` } }`
	theirs := `query($c: Cursor) { userByName(username: "alice") { jobs(cursor: $c) { ` + fields + ` } } }`
	cursor := encodeTestCursor(middle)
	cases := []struct {
		name, query, token string
		cursor             any
	}{
		{"own-first-page", mine, e.aliceTok, nil},
		{"own-middle-page", mine, e.aliceTok, cursor},
		{"others-public-first-page", theirs, e.bobTok, nil},
		{"others-public-middle-page", theirs, e.bobTok, cursor},
	}
	client := &http.Client{}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			body, _ := json.Marshal(map[string]any{"query": c.query, "variables": map[string]any{"c": c.cursor}})
			for b.Loop() {
				if err := post(client, e.srv.URL+"/query", c.token, body); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
	}
}

// post sends one GraphQL request and fails on any error in the answer.
func post(client *http.Client, url, token string, body []byte) error {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || bytes.Contains(raw, []byte(`"errors"`)) {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, raw)
	}
	return nil
}

// encodeTestCursor makes the cursor the API would hand out for the page
// that continues before id (the cursor is opaque to clients; benchmarks
// use it to jump to the middle of a long listing).
func encodeTestCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}
