package logs

import (
	"bytes"
	"encoding/base64"
	"io"
	"slices"
)

// Redacted is what replaces every run of secret bytes in a log.
const Redacted = "[redacted]"

// minShiftedCore is the shortest base64 fragment worth matching for a secret
// that was encoded at an unaligned offset inside a larger blob: shorter
// fragments would match innocent base64 text too often.
const minShiftedCore = 8

// Redactor knows the byte patterns that must never reach a log: each secret,
// its base64 forms (standard and URL alphabets, padded or not, and the part
// of the encoding that does not depend on neighbouring bytes when the secret
// sits at any offset of a larger encoded blob), and for multi-line secrets
// their CRLF form and each long line. A Redactor is immutable and safe for
// concurrent use; each writer keeps its own streaming state.
type Redactor struct {
	patterns [][]byte // deduplicated, longest first
	idx      *index
}

// NewRedactor returns a Redactor for the given secret values. Empty values
// are ignored; with no values it redacts nothing and adds no latency.
func NewRedactor(secrets [][]byte) *Redactor {
	var pats [][]byte
	for _, s := range secrets {
		pats = append(pats, patternsFor(s)...)
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

var encodings = []*base64.Encoding{
	base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
}

func patternsFor(s []byte) [][]byte {
	if len(s) == 0 {
		return nil
	}
	out := [][]byte{bytes.Clone(s)}
	if bytes.Contains(s, []byte("\n")) {
		out = append(out, multiLinePatterns(s)...)
	}
	for _, enc := range encodings {
		out = append(out, []byte(enc.EncodeToString(s)))
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for shift := range 3 {
			if core := shiftedCore(enc, s, shift); len(core) >= minShiftedCore {
				out = append(out, core)
			}
		}
	}
	return out
}

// multiLinePatterns covers a multi-line secret (a private key, say) printed
// through a terminal, which turns LF into CRLF, or printed in part: every
// line long enough to be secret material on its own becomes a pattern.
// Armour lines such as "-----BEGIN ...-----" are not secret and are skipped.
func multiLinePatterns(s []byte) [][]byte {
	out := [][]byte{bytes.ReplaceAll(s, []byte("\n"), []byte("\r\n"))}
	for line := range bytes.SplitSeq(s, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(line) >= 16 && !bytes.HasPrefix(line, []byte("-----")) {
			out = append(out, bytes.Clone(line))
		}
	}
	return out
}

// shiftedCore returns the characters of the encoding of s that are the same
// whatever bytes precede s (shift of them, modulo 3) or follow it in a larger
// encoded blob.
func shiftedCore(enc *base64.Encoding, s []byte, shift int) []byte {
	in := append(make([]byte, shift), s...)
	e := enc.EncodeToString(in)
	// With one foreign byte before s, the first two characters depend on it;
	// with two, the first three.
	if shift > 0 {
		e = e[shift+1:]
	}
	// When the input does not end on a 3-byte group, the last character mixes
	// s's last bits with whatever comes next.
	if len(in)%3 != 0 && len(e) > 0 {
		e = e[:len(e)-1]
	}
	return []byte(e)
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
		if sp.start > 0 || !st.open {
			out = append(out, Redacted...)
		}
		pos = min(sp.end, emitEnd)
		covered, open = max(sp.end-emitEnd, 0), sp.end >= emitEnd
	}
	out = append(out, buf[pos:emitEnd]...)
	st.held = append(st.held[:0], buf[emitEnd:]...)
	st.covered, st.open = covered, open
	return out
}
