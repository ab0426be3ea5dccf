package logs

import (
	"bytes"
	"encoding/base64"
	"fmt"
)

// minShiftedCore is the shortest base64 fragment worth matching for a secret
// that was encoded at an unaligned offset inside a larger blob: shorter
// fragments would match innocent base64 text too often.
const minShiftedCore = 8

// MinLineSecret is the shortest line of a multi-line secret that is redacted
// on its own wherever it appears. Shorter lines would match ordinary text
// too often; they are still redacted as part of the whole value.
const MinLineSecret = 6

// wrapWidths are the line lengths at which tools wrap base64: 76 for
// coreutils' base64 (and MIME), 64 for openssl and PEM.
var wrapWidths = []int{76, 64}

var encodings = []*base64.Encoding{
	base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
}

// patternsFor lists the forms in which a value may reach a log:
//   - the value with and without its trailing line break (a file secret is
//     usually printed through $(cat FILE), which drops it);
//   - the forms shells print it in when tracing (set -x) or quoting
//     (printf %q): single-quoted with ' as '\”, ANSI-C $'...' escapes, and
//     backslash escapes;
//   - base64 (of the value with its line break too, as echo | base64
//     prints a token) in the standard and URL alphabets, padded or not, unwrapped and
//     wrapped at 76 and 64 columns as base64(1) and openssl print a file
//     (and each full line of those on its own),
//     and the part of the encoding that does not depend on neighbouring bytes
//     when the value sits at any offset of a larger encoded blob;
//   - the CRLF form of each of these that spans lines (a terminal turns LF
//     into CRLF);
//   - for a multi-line value, each line of at least MinLineSecret bytes on its own, in its quoted
//     forms too. Armour lines such as "-----BEGIN ...-----" are not secret
//     and are skipped.
func patternsFor(s []byte) [][]byte {
	if len(s) == 0 {
		return nil
	}
	forms := [][]byte{s}
	if t := bytes.TrimRight(s, "\r\n"); len(t) > 0 && len(t) < len(s) {
		forms = append(forms, t)
	}
	var out [][]byte
	for _, f := range forms {
		out = append(out, bytes.Clone(f))
		out = append(out, shellForms(f)...)
		out = append(out, base64Forms(f)...)
	}
	if s[len(s)-1] != '\n' {
		// echo "$TOKEN" | base64 encodes the value with a newline.
		out = append(out, base64Forms(append(bytes.Clone(s), '\n'))...)
	}
	if bytes.ContainsAny(bytes.TrimRight(s, "\r\n"), "\n") {
		for line := range bytes.SplitSeq(s, []byte("\n")) {
			line = bytes.TrimRight(line, "\r")
			if len(line) >= MinLineSecret && !bytes.HasPrefix(line, []byte("-----")) {
				out = append(out, bytes.Clone(line))
				out = append(out, shellForms(line)...)
			}
		}
	}
	return withCRLF(out)
}

// withCRLF adds the CRLF form of every pattern that holds a line feed: a
// task's output passes through a terminal, which turns LF into CRLF.
func withCRLF(pats [][]byte) [][]byte {
	for _, p := range pats {
		if bytes.IndexByte(p, '\n') >= 0 && !bytes.Contains(p, []byte("\r\n")) {
			pats = append(pats, bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n")))
		}
	}
	return pats
}

// shellForms returns the ways a shell re-quotes s when it prints it, where
// they differ from s itself. Only the inside of the quotes is returned, so
// that the pattern also matches s quoted as part of a longer word.
func shellForms(s []byte) [][]byte {
	var out [][]byte
	if bytes.IndexByte(s, '\'') >= 0 {
		out = append(out, bytes.ReplaceAll(s, []byte("'"), []byte(`'\''`)))
	}
	if a := ansiC(s); !bytes.Equal(a, s) {
		out = append(out, a)
	}
	if b := backslashed(s); !bytes.Equal(b, s) {
		out = append(out, b)
	}
	return out
}

// ansiC escapes s as bash does inside $'...': named escapes for the usual
// control characters, \E for escape, octal for the others.
func ansiC(s []byte) []byte {
	named := map[byte]string{'\a': `\a`, '\b': `\b`, '\f': `\f`, '\n': `\n`, '\r': `\r`,
		'\t': `\t`, '\v': `\v`, '\\': `\\`, '\'': `\'`, 0x1b: `\E`}
	out := make([]byte, 0, len(s))
	for _, c := range s {
		switch e, ok := named[c]; {
		case ok:
			out = append(out, e...)
		case c < 0x20 || c == 0x7f:
			out = fmt.Appendf(out, `\%03o`, c)
		default:
			out = append(out, c)
		}
	}
	return out
}

// backslashed escapes s as bash's printf %q does for text without control
// characters: a backslash before each character special to the shell.
func backslashed(s []byte) []byte {
	const special = " \t'\"\\|&;()<>!{}*[?]^$`,"
	out := make([]byte, 0, len(s))
	for i, c := range s {
		if bytes.IndexByte([]byte(special), c) >= 0 || (i == 0 && (c == '~' || c == '#')) {
			out = append(out, '\\')
		}
		out = append(out, c)
	}
	return out
}

// base64Forms returns s encoded in every way base64 text of it may appear.
func base64Forms(s []byte) [][]byte {
	var out [][]byte
	for _, enc := range encodings {
		out = append(out, []byte(enc.EncodeToString(s)))
	}
	std := base64.StdEncoding.EncodeToString(s)
	for _, w := range wrapWidths {
		if len(std) > w {
			out = append(out, wrap(std, w))
			// Each full line too, for a wrapped blob printed in part.
			for i := 0; i+w <= len(std); i += w {
				out = append(out, []byte(std[i:i+w]))
			}
		}
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

// wrap breaks e into lines of width characters joined by LF.
func wrap(e string, width int) []byte {
	out := make([]byte, 0, len(e)+len(e)/width)
	for len(e) > width {
		out = append(append(out, e[:width]...), '\n')
		e = e[width:]
	}
	return append(out, e...)
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
