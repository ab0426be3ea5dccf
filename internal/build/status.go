package build

// JobStatus is where a job is in its life. The values are the lowercase
// names builds.sr.ht uses in its REST API.
type JobStatus string

// Job statuses.
const (
	JobPending   JobStatus = "pending" // submitted with execute: false
	JobQueued    JobStatus = "queued"
	JobRunning   JobStatus = "running"
	JobSuccess   JobStatus = "success"
	JobFailed    JobStatus = "failed"
	JobTimeout   JobStatus = "timeout"
	JobCancelled JobStatus = "cancelled"
)

// JobStatuses lists every job status in lifecycle order.
var JobStatuses = []JobStatus{JobPending, JobQueued, JobRunning, JobSuccess, JobFailed, JobTimeout, JobCancelled}

// Valid reports whether s is a known job status.
func (s JobStatus) Valid() bool {
	for _, v := range JobStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// Terminal reports whether s is final: a terminal status never changes.
func (s JobStatus) Terminal() bool {
	switch s {
	case JobSuccess, JobFailed, JobTimeout, JobCancelled:
		return true
	}
	return false
}

// jobTransitions lists, for each non-terminal status, the statuses it may
// become. A queued job may go back to queued when a runner that took it died
// before starting it, so it can be handed to another runner.
var jobTransitions = map[JobStatus][]JobStatus{
	JobPending: {JobQueued, JobCancelled},
	JobQueued:  {JobQueued, JobRunning, JobFailed, JobCancelled},
	JobRunning: {JobSuccess, JobFailed, JobTimeout, JobCancelled},
}

// CanBecome reports whether a job in status s may move to next.
func (s JobStatus) CanBecome(next JobStatus) bool {
	for _, v := range jobTransitions[s] {
		if v == next {
			return true
		}
	}
	return false
}

// CheckTransition returns an ECONFLICT error when s may not become next.
func (s JobStatus) CheckTransition(next JobStatus) error {
	if !next.Valid() {
		return Errorf(EINVALID, "unknown job status %q", next)
	}
	if !s.CanBecome(next) {
		return Errorf(ECONFLICT, "a %s job cannot become %s", s, next)
	}
	return nil
}

// TaskStatus is where one task of a job is.
type TaskStatus string

// Task statuses.
const (
	TaskPending TaskStatus = "pending"
	TaskRunning TaskStatus = "running"
	TaskSuccess TaskStatus = "success"
	TaskFailed  TaskStatus = "failed"
	TaskSkipped TaskStatus = "skipped"
)

// TaskStatuses lists every task status.
var TaskStatuses = []TaskStatus{TaskPending, TaskRunning, TaskSuccess, TaskFailed, TaskSkipped}

// Valid reports whether s is a known task status.
func (s TaskStatus) Valid() bool {
	for _, v := range TaskStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// Terminal reports whether s is final.
func (s TaskStatus) Terminal() bool {
	return s == TaskSuccess || s == TaskFailed || s == TaskSkipped
}

var taskTransitions = map[TaskStatus][]TaskStatus{
	TaskPending: {TaskRunning, TaskSkipped},
	TaskRunning: {TaskSuccess, TaskFailed},
}

// CanBecome reports whether a task in status s may move to next.
func (s TaskStatus) CanBecome(next TaskStatus) bool {
	for _, v := range taskTransitions[s] {
		if v == next {
			return true
		}
	}
	return false
}

// CheckTransition returns an ECONFLICT error when s may not become next.
func (s TaskStatus) CheckTransition(next TaskStatus) error {
	if !next.Valid() {
		return Errorf(EINVALID, "unknown task status %q", next)
	}
	if !s.CanBecome(next) {
		return Errorf(ECONFLICT, "a %s task cannot become %s", s, next)
	}
	return nil
}

// Visibility says who may see a job.
type Visibility string

// Visibilities, spelled as the GraphQL enum spells them.
const (
	Public   Visibility = "PUBLIC"   // listed on the owner's page
	Unlisted Visibility = "UNLISTED" // visible to anyone with the link
	Private  Visibility = "PRIVATE"  // owner only
)

// Valid reports whether v is a known visibility.
func (v Visibility) Valid() bool { return v == Public || v == Unlisted || v == Private }
