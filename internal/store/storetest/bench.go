package storetest

import (
	"fmt"
	"testing"

	"builds/internal/build"
	"builds/internal/store"
)

// BenchCreateJob measures CreateJob for a typical submission (three tasks,
// two tags) called from parallel goroutines, as API handlers call it.
func BenchCreateJob(b *testing.B, s store.Store) {
	u := &build.User{Name: "bench"}
	if err := s.CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	manifest := "image: debian/stable\ntasks:\n- setup: ./configure\n- build: make\n- test: make check\n"
	b.ReportAllocs()
	b.SetParallelism(4) // several requests in flight per core, as a server has
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			j := &build.Job{
				OwnerID: u.ID, Manifest: manifest, Tags: []string{"repo", "main"},
				Visibility: build.Public, Status: build.JobQueued, Image: "debian/stable", Arch: "amd64",
				Tasks: []build.Task{{Name: "setup"}, {Name: "build"}, {Name: "test"}},
			}
			if err := s.CreateJob(b.Context(), j); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

// Seeder bulk-inserts n jobs owned by ownerID, each with two tasks,
// tagged "repo/<i%10>", every fifth one failed and the rest success,
// bypassing the store API so that benchmarks start quickly.
type Seeder func(b *testing.B, ownerID int64, n int)

// BenchListJobsSeeded is the number of jobs BenchListJobs stores.
const BenchListJobsSeeded = 100_000

// BenchListJobs stores BenchListJobsSeeded jobs with seed, then measures
// listing pages of them: the newest page, a page deep in the cursor, and
// filtered pages.
func BenchListJobs(b *testing.B, s store.Store, seed Seeder) {
	u := &build.User{Name: "bench"}
	if err := s.CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	seed(b, u.ID, BenchListJobsSeeded)
	first, _, err := s.ListJobs(b.Context(), store.JobFilter{OwnerID: u.ID, Limit: 1})
	if err != nil || len(first) != 1 {
		b.Fatalf("seeded store lists %d jobs, err %v", len(first), err)
	}
	newest := first[0].ID
	cases := []struct {
		name string
		f    store.JobFilter
	}{
		{"newest", store.JobFilter{OwnerID: u.ID}},
		{"deep", store.JobFilter{OwnerID: u.ID, Before: newest - BenchListJobsSeeded/2}},
		{"status", store.JobFilter{OwnerID: u.ID, Status: []build.JobStatus{build.JobFailed}}},
		{"tag", store.JobFilter{OwnerID: u.ID, TagPrefix: []string{"repo", "7"}}},
		{"public", store.JobFilter{Visibility: []build.Visibility{build.Public}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				jobs, _, err := s.ListJobs(b.Context(), c.f)
				if err != nil || len(jobs) != 20 {
					b.Fatalf("ListJobs = %d jobs, %v; want 20", len(jobs), err)
				}
			}
		})
	}
}

// SeedJob returns the column values the seeders store for job i.
func SeedJob(i int) (tag string, status build.JobStatus) {
	status = build.JobSuccess
	if i%5 == 0 {
		status = build.JobFailed
	}
	return fmt.Sprintf("repo/%d", i%10), status
}
