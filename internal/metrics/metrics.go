// Package metrics holds the Prometheus metrics of the master and the
// runners, served at /metrics. It uses the official client library,
// github.com/prometheus/client_golang, on a registry of its own so tests can
// create several without clashing.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"builds/internal/build"
)

// Metrics are the service's instruments. Methods are safe for concurrent use.
type Metrics struct {
	reg           *prometheus.Registry
	submitted     prometheus.Counter
	finished      *prometheus.CounterVec
	running       prometheus.Gauge
	queued        prometheus.Gauge
	queueWait     prometheus.Histogram
	bootTime      prometheus.Histogram
	buildDuration *prometheus.HistogramVec
	diskLow       prometheus.Gauge
}

// New creates the instruments on a fresh registry that also carries the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		submitted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "builds_jobs_submitted_total", Help: "Jobs submitted.",
		}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "builds_jobs_finished_total", Help: "Jobs that reached a terminal status, by status.",
		}, []string{"status"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "builds_jobs_running", Help: "Jobs running now.",
		}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "builds_jobs_queued", Help: "Jobs waiting in the queue now (those queued since the master started).",
		}),
		queueWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "builds_queue_wait_seconds", Help: "Time from submission until a runner took the job.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		bootTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "builds_vm_boot_seconds", Help: "Time from VM boot until its SSH answered.",
			Buckets: prometheus.ExponentialBuckets(0.25, 2, 10),
		}),
		buildDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "builds_job_duration_seconds", Help: "Time from when a runner started a job until it ended, by status.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 13),
		}, []string{"status"}),
		diskLow: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "builds_runner_disk_low", Help: "1 while the runner takes no jobs because its log or artifact disk is nearly full.",
		}),
	}
	m.reg.MustRegister(m.submitted, m.finished, m.running, m.queued, m.queueWait, m.bootTime, m.buildDuration, m.diskLow,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, s := range build.JobStatuses {
		if s.Terminal() {
			m.finished.WithLabelValues(string(s))
		}
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Submitted counts one submitted job.
func (m *Metrics) Submitted() { m.submitted.Inc() }

// Started records that a runner took a job that was submitted at created.
func (m *Metrics) Started(created time.Time) {
	m.running.Inc()
	m.queueWait.Observe(time.Since(created).Seconds())
}

// Queued records that a job entered the queue; Dequeued that it left it
// (a runner took it, or it was cancelled).
func (m *Metrics) Queued() { m.queued.Inc() }

// Dequeued records that a job counted by Queued left the queue.
func (m *Metrics) Dequeued() { m.queued.Dec() }

// Booted records how long a VM took to answer SSH.
func (m *Metrics) Booted(d time.Duration) { m.bootTime.Observe(d.Seconds()) }

// Finished records a job that ended in status s after running for d; wasRunning
// is false for jobs that ended without ever running (cancelled while queued).
func (m *Metrics) Finished(s build.JobStatus, d time.Duration, wasRunning bool) {
	m.finished.WithLabelValues(string(s)).Inc()
	if wasRunning {
		m.running.Dec()
		m.buildDuration.WithLabelValues(string(s)).Observe(d.Seconds())
	}
}

// DiskLow records whether the runner stopped taking jobs for lack of disk
// space.
func (m *Metrics) DiskLow(low bool) {
	if low {
		m.diskLow.Set(1)
		return
	}
	m.diskLow.Set(0)
}
