package logs_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"builds/internal/logs"
)

const benchTotal = 100 << 20 // bytes per benchmark op

// benchText is terminal-like output: lines of varying length with ANSI
// colour codes, and no secret in it.
func benchText(size int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "\x1b[32m+ step %d\x1b[0m compiling src/module_%d/file.c -O2 -Wall\r\n", i, i%97)
	}
	return b.Bytes()[:size]
}

func benchSecrets(n int) [][]byte {
	var out [][]byte
	for i := range n {
		out = append(out, fmt.Appendf(nil, "secret-value-%d-8f1c2a9e77d04b6f", i))
	}
	return out
}

// BenchmarkWrite sends 100 MB per op through a task writer to disk, in
// chunks of the given size. "raw-file" is the baseline: the same writes to
// a plain *os.File.
func BenchmarkWrite(b *testing.B) {
	for _, chunk := range []int{32 << 10, 256} {
		text := benchText(benchTotal)
		b.Run(fmt.Sprintf("raw-file/chunk=%d", chunk), func(b *testing.B) {
			benchWrite(b, text, chunk, func(d *logs.Dir) writeCloser {
				f, err := os.Create(filepath.Join(d.Root(), "raw"))
				if err != nil {
					b.Fatal(err)
				}
				return f
			})
		})
		for _, n := range []int{0, 3, 20} {
			b.Run(fmt.Sprintf("secrets=%d/chunk=%d", n, chunk), func(b *testing.B) {
				benchWrite(b, text, chunk, func(d *logs.Dir) writeCloser {
					w, err := d.Job(1, benchSecrets(n)).Task("build")
					if err != nil {
						b.Fatal(err)
					}
					return w
				})
			})
		}
	}
}

type writeCloser interface {
	Write([]byte) (int, error)
	Close() error
}

func benchWrite(b *testing.B, text []byte, chunk int, open func(*logs.Dir) writeCloser) {
	b.SetBytes(int64(len(text)))
	cpu := startCPU()
	for b.Loop() {
		b.StopTimer()
		d, err := logs.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		w := open(d)
		b.StartTimer()
		for p := text; len(p) > 0; {
			n := min(chunk, len(p))
			if _, err := w.Write(p[:n]); err != nil {
				b.Fatal(err)
			}
			p = p[n:]
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b, len(text))
}

// BenchmarkFollowLatency measures the time from a line being written to a
// following HTTP client reading it, with the follower sharing the writer's
// *Dir (in-process) and with a separate *Dir (another process: polling).
func BenchmarkFollowLatency(b *testing.B) {
	for _, mode := range []string{"in-process", "cross-process"} {
		b.Run(mode, func(b *testing.B) {
			d, err := logs.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			served := d
			if mode == "cross-process" {
				if served, err = logs.Open(d.Root()); err != nil {
					b.Fatal(err)
				}
			}
			benchFollow(b, d, served)
		})
	}
}

func benchFollow(b *testing.B, d, served *logs.Dir) {
	w, err := d.Job(1, benchSecrets(3)).Task("build")
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/logs/", logs.NewHandler(served, func(*http.Request, int64) bool { return true }))
	srv := newBenchServer(b, mux)
	resp, err := http.Get(srv + "/logs/1/build/log?follow=1")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewReader(resp.Body)
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		w.Write([]byte("line " + strconv.Itoa(i) + "\n"))
		if _, err := lines.ReadString('\n'); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		if i%8 == 7 { // let the follower go back to sleep, as between real lines
			time.Sleep(time.Millisecond)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/line")
	w.Close()
}

func newBenchServer(b *testing.B, h http.Handler) string {
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL
}

// BenchmarkRedactPerCPUSecond is the CPU cost of redaction alone, without
// the disk: "cpu-MB/s" is megabytes redacted per second of the process's
// CPU time, which a busy machine does not skew (the usual MB/s is wall
// time).
func BenchmarkRedactPerCPUSecond(b *testing.B) {
	text := benchText(8 << 20)
	key := []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n" +
		"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n" +
		"QyNTUxOQAAACDx3m1GWZ4bYr2zL0bL9hJ2fJ0m8Zc8w8kq0Ck5i7sJYwAAAJgq1bFHKtWx\n" +
		"-----END OPENSSH PRIVATE KEY-----\n")
	for _, n := range []int{0, 3, 20, -20} {
		name, secrets := fmt.Sprintf("secrets=%d", n), benchSecrets(n)
		if n < 0 { // file secrets: values with newlines, and a key
			name, secrets = fmt.Sprintf("file-secrets=%d", -n), benchSecrets(-n)
			for i := range secrets {
				secrets[i] = append(secrets[i], '\n')
			}
			secrets = append(secrets, key)
		}
		b.Run(name, func(b *testing.B) {
			w := logs.NewRedactor(secrets).Writer(io.Discard)
			b.SetBytes(int64(len(text)))
			cpu := startCPU()
			for b.Loop() {
				for p := text; len(p) > 0; p = p[min(32<<10, len(p)):] {
					w.Write(p[:min(32<<10, len(p))])
				}
			}
			cpu.report(b, len(text))
		})
	}
}

// cpuClock measures the CPU time of the process, which, unlike wall time,
// stays meaningful on a machine busy with other work.
type cpuClock struct{ start time.Duration }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{cpuTime()} }

// report adds the throughput per CPU-second as "cpu-MB/s".
func (c cpuClock) report(b *testing.B, bytesPerOp int) {
	used := cpuTime() - c.start
	if used > 0 {
		b.ReportMetric(float64(bytesPerOp)*float64(b.N)/1e6/used.Seconds(), "cpu-MB/s")
	}
}
