package wire

import "time"

// DefaultPrefix is the Redis key prefix when none is configured; it is the
// queue's.
const DefaultPrefix = "builds:"

// OrPrefix returns p, or DefaultPrefix when p is empty.
func OrPrefix(p string) string {
	if p == "" {
		return DefaultPrefix
	}
	return p
}

// EventStream is the Redis stream runners append their events to.
func EventStream(prefix string) string { return prefix + "events" }

// CancelKey is set when job jobID is cancelled; CancelChannel carries the
// same news as a message.
func CancelKey(prefix string, jobID int64) string { return prefix + "cancel:" + itoa(jobID) }

// CancelChannel is the pub/sub channel on which the master publishes the
// IDs of cancelled jobs.
func CancelChannel(prefix string) string { return prefix + "cancel" }

// RunnerKey holds runner name's registration (a JSON RunnerInfo).
func RunnerKey(prefix, name string) string { return prefix + "runner:" + name }

// RunnerInfo is a live runner's registration.
type RunnerInfo struct {
	Name     string    `json:"name"`
	Arches   []string  `json:"arches"`
	Capacity int       `json:"capacity"`
	Running  []int64   `json:"running"`
	LogURL   string    `json:"log_url"`
	Draining bool      `json:"draining,omitempty"`
	Started  time.Time `json:"started"`
	Seen     time.Time `json:"seen"`
}

// CancelTTL is how long a cancel key outlives any lease, so that a runner
// cut off from Redis during the publish still finds it when it checks.
const CancelTTL = 24 * time.Hour

// RegistryInterval is how often a runner renews its registration, which
// expires after three missed renewals.
const RegistryInterval = 5 * time.Second
