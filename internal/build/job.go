package build

import "time"

// Job is one submitted build manifest and its state.
type Job struct {
	ID         int64
	Created    time.Time
	Updated    time.Time
	OwnerID    int64
	Owner      string // owner's user name, filled by the store on reads
	Manifest   string // the YAML exactly as submitted
	Note       string
	Tags       []string
	Visibility Visibility
	Status     JobStatus
	Image      string // distro/release as written in the manifest
	Arch       string // resolved arch, e.g. amd64
	Runner     string // name of the runner that took the job, "" before
	GroupID    int64  // 0 when the job is in no group
	Secrets    bool   // whether secrets are made available to this job
	Tasks      []Task // in manifest order
}

// Task returns the task with the given name, or nil.
func (j *Job) Task(name string) *Task {
	for i := range j.Tasks {
		if j.Tasks[i].Name == name {
			return &j.Tasks[i]
		}
	}
	return nil
}

// VisibleTo reports whether the user with the given ID (0 for anonymous)
// may see the job. Unlisted jobs are visible to anyone who has the ID.
func (j *Job) VisibleTo(userID int64) bool {
	return j.Visibility != Private || (userID != 0 && userID == j.OwnerID)
}

// Task is one named step of a job.
type Task struct {
	ID      int64
	JobID   int64
	Created time.Time
	Updated time.Time
	Name    string
	Status  TaskStatus
}

// Group is a set of jobs started together, with triggers that fire once
// every job of the group is terminal.
type Group struct {
	ID       int64
	Created  time.Time
	OwnerID  int64
	Note     string
	JobIDs   []int64
	Triggers []Trigger
}

// Artifact is a file uploaded from the guest after a successful job.
type Artifact struct {
	ID      int64
	JobID   int64
	Created time.Time
	Path    string // path in the guest, as the manifest names it
	Name    string // basename, unique within the job
	Size    int64
	URL     string
}

// Event kinds for the status changes a runner reports.
const (
	EventJobStatus  = "job_status"
	EventTaskStatus = "task_status"
)
