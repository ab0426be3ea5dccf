package postgres

import "builds/internal/store"

// ListJobsQuery exposes the listing's SQL to the tests, which check its
// plan with EXPLAIN.
func ListJobsQuery(f store.JobFilter, limit int) (string, []any) { return listJobsQuery(f, limit) }
