package logs

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// budget is the number of bytes all the logs of one job may still take.
// It is shared by the job's writers; the first writer to run out writes a
// notice and calls onExceed once.
type budget struct {
	max      int64
	used     atomic.Int64
	once     sync.Once
	onExceed func()
}

// take reserves up to n bytes and returns how many were granted.
func (b *budget) take(n int) int {
	after := b.used.Add(int64(n))
	if after <= b.max {
		return n
	}
	before := after - int64(n)
	if before >= b.max {
		return 0
	}
	return int(b.max - before)
}

// LimitNotice is the line written to a log where a job's logs reach their
// limit.
func LimitNotice(max int64) string {
	return fmt.Sprintf("\n[builds] This job's logs reached their limit of %s; further output is discarded and the job fails.\n", FormatBytes(max))
}

// Limit caps the bytes all the job's logs may hold together at max
// (before redaction). Past it, output written with Write is discarded, the
// log that reached the cap gets LimitNotice, and onExceed (which may be
// nil) is called once. Lines written with Printf, the runner's own, are
// not counted, so the job's log can still say how it ended. Call Limit
// before opening any log; max <= 0 means no limit.
func (j *JobLogs) Limit(max int64, onExceed func()) {
	if max <= 0 {
		j.budget = nil
		return
	}
	j.budget = &budget{max: max, onExceed: onExceed}
}

// FormatBytes writes a byte count in the largest binary unit that keeps
// it readable: "512 B", "64 KiB", "1.5 MiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	suffix := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}[exp]
	if n%div == 0 {
		return fmt.Sprintf("%d %s", n/div, suffix)
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}
