package logs

import (
	"bytes"
	"io"
	"slices"
)

// Redacted is what replaces every run of secret bytes in a log.
const Redacted = "[redacted]"

// Redactor knows the byte patterns that must never reach a log (see
// patternsFor for the forms of each value). Line breaks inside a redacted
// run are kept, so redaction never joins two lines: a multi-line secret
// becomes one marker per line. A Redactor is immutable and safe for
// concurrent use; each writer keeps its own streaming state.
type Redactor struct {
	patterns [][]byte // deduplicated, longest first
	idx      *index
}

// NewRedactor returns a Redactor for the given values: secrets, and any
// other value a job must not see printed (its OAuth token, tokens issued
// for it). Empty values are ignored; with no values it redacts nothing and
// adds no latency.
func NewRedactor(values ...[][]byte) *Redactor {
	var pats [][]byte
	for _, vs := range values {
		for _, v := range vs {
			pats = append(pats, patternsFor(v)...)
		}
	}
	slices.SortFunc(pats, func(a, b []byte) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return bytes.Compare(a, b)
	})
	pats = slices.CompactFunc(pats, bytes.Equal)
	return &Redactor{patterns: pats, idx: newIndex(pats)}
}

// Redact returns p with every secret replaced by Redacted.
func (r *Redactor) Redact(p []byte) []byte {
	if len(r.patterns) == 0 {
		return bytes.Clone(p)
	}
	var st redactState
	return st.process(r, nil, p, true)
}

// Writer returns a writer that redacts what is written to it and writes the
// result to w. Because a secret may be split across writes, it holds back
// the longest tail that could begin a secret until more data arrives or
// Flush is called. It is not safe for concurrent use.
func (r *Redactor) Writer(w io.Writer) *RedactWriter {
	return &RedactWriter{r: r, w: w}
}

// RedactWriter is the streaming writer made by Redactor.Writer.
type RedactWriter struct {
	r   *Redactor
	w   io.Writer
	st  redactState
	out []byte
}

// Write redacts p and writes what can be decided so far. It returns len(p)
// when the underlying write succeeded.
func (rw *RedactWriter) Write(p []byte) (int, error) {
	if len(rw.r.patterns) == 0 {
		return rw.w.Write(p)
	}
	rw.out = rw.st.process(rw.r, rw.out[:0], p, false)
	if len(rw.out) > 0 {
		if _, err := rw.w.Write(rw.out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes the held-back tail, redacted; call it at the end of the
// stream. Writing after Flush starts a fresh stream.
func (rw *RedactWriter) Flush() error {
	if len(rw.r.patterns) == 0 {
		return nil
	}
	rw.out = rw.st.process(rw.r, rw.out[:0], nil, true)
	rw.st = redactState{}
	if len(rw.out) == 0 {
		return nil
	}
	_, err := rw.w.Write(rw.out)
	return err
}

// span is a half-open byte range [start, end) of a buffer.
type span struct{ start, end int }

// redactState is the streaming part of redaction: bytes held back because
// they may begin a secret, and how many of them are already known to lie
// inside a redacted run whose marker was written.
type redactState struct {
	held    []byte
	covered int
	// open says the output so far ends with a marker whose run reaches the
	// first held byte, so a secret starting there extends that run.
	open  bool
	buf   []byte
	spans []span
}

// process appends to out the redacted form of everything that can be decided
// after p arrives, and keeps the rest. With final set, it decides everything.
func (st *redactState) process(r *Redactor, out, p []byte, final bool) []byte {
	buf := append(append(st.buf[:0], st.held...), p...)
	st.buf = buf
	hold := 0
	if !final {
		hold = r.idx.holdLen(buf)
	}
	emitEnd := len(buf) - hold
	if emitEnd == 0 {
		st.held = append(st.held[:0], buf...)
		return out
	}
	pos, covered, open := 0, 0, false
	for _, sp := range st.findSpans(r.idx, buf) {
		if sp.start >= emitEnd {
			break
		}
		out = append(out, buf[pos:sp.start]...)
		pos = min(sp.end, emitEnd)
		var marked bool
		out, marked = appendMasked(out, buf[sp.start:pos], sp.start == 0 && st.open)
		covered, open = max(sp.end-emitEnd, 0), sp.end >= emitEnd && marked
	}
	out = append(out, buf[pos:emitEnd]...)
	st.held = append(st.held[:0], buf[emitEnd:]...)
	st.covered, st.open = covered, open
	return out
}

// appendMasked appends the redacted form of run, a secret's bytes: its line
// breaks as they are and one marker for each stretch between them. With
// marked set, the output already ends with the marker of the run's first
// stretch. It reports whether the output ends with a marker whose stretch
// may go on.
func appendMasked(out, run []byte, marked bool) ([]byte, bool) {
	for _, c := range run {
		switch {
		case c == '\n' || c == '\r':
			out, marked = append(out, c), false
		case !marked:
			out, marked = append(out, Redacted...), true
		}
	}
	return out, marked
}
