// Package wire is what the master and remote runners share: the signed
// events a runner reports, the payload it gets with a job, the log tokens
// the master signs, the runner registry record and the Redis key names.
// Both sides import it; it imports neither.
package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Event kinds.
const (
	KindJobStatus  = "job_status"
	KindTaskStatus = "task_status"
	KindArtifact   = "artifact"
	KindLogURL     = "log_url"
	KindBooted     = "booted" // the VM answered SSH BootMS after it booted
)

// Event is one report of a runner about a job it holds. Seq counts from 1
// per job and runner, in the order the runner made the reports.
type Event struct {
	Job    int64     `json:"job"`
	Runner string    `json:"runner"`
	Seq    uint64    `json:"seq"`
	Kind   string    `json:"kind"`
	Time   time.Time `json:"time"`
	Status string    `json:"status,omitempty"` // job or task status
	Task   string    `json:"task,omitempty"`
	// Artifact fields.
	Path string `json:"path,omitempty"`
	Name string `json:"name,omitempty"`
	Size int64  `json:"size,omitempty"`
	URL  string `json:"url,omitempty"` // artifact URL, or the log URL base
	// BootMS is how long the VM took from boot to SSH (KindBooted).
	BootMS int64 `json:"boot_ms,omitempty"`
}

// Stream entry fields.
const (
	fieldEvent = "e"
	fieldMAC   = "mac"
)

// Seal encodes ev and its MAC under the job's key, as stream fields.
func Seal(ev *Event, key string) (map[string]any, error) {
	data, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return map[string]any{fieldEvent: data, fieldMAC: MAC(key, data)}, nil
}

// MAC is the hex HMAC-SHA256 of an encoded event under its job's key.
func MAC(key string, data []byte) string {
	h := hmac.New(sha256.New, []byte(key))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// Decode parses a stream entry without checking its MAC.
func Decode(values map[string]any) (*Event, []byte, string, error) {
	data, _ := values[fieldEvent].(string)
	sum, _ := values[fieldMAC].(string)
	var ev Event
	if err := json.Unmarshal([]byte(data), &ev); err != nil {
		return nil, nil, "", fmt.Errorf("decode event: %w", err)
	}
	if ev.Job < 1 || ev.Runner == "" || ev.Seq == 0 {
		return nil, nil, "", fmt.Errorf("event lacks a job, runner or sequence number")
	}
	return &ev, []byte(data), sum, nil
}

// Verify reports whether sum is the MAC of data under key.
func Verify(key string, data []byte, sum string) bool {
	want, err := hex.DecodeString(sum)
	if err != nil || key == "" {
		return false
	}
	h := hmac.New(sha256.New, []byte(key))
	h.Write(data)
	return hmac.Equal(h.Sum(nil), want)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
