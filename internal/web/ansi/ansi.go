// Package ansi turns terminal output (a build log) into HTML: SGR colour
// and style sequences become <span> elements, every other escape sequence
// is dropped, text is escaped, and carriage returns behave as a terminal
// shows them to a person watching a progress bar: the line is redrawn.
package ansi

import (
	"fmt"
	"html"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxLine bounds the bytes held for one line without a newline, so that a
// log with no newlines cannot make the converter hold unbounded memory.
const maxLine = 64 << 10

// Convert returns the HTML form of a whole log, including a last line that
// has no newline.
func Convert(p []byte) string {
	var c Converter
	lines := c.Write(p)
	return lines + c.Partial()
}

// Converter converts a stream of terminal output. It keeps the style in
// force and the line being written across calls, so a stream may be cut
// anywhere, even inside an escape sequence or a UTF-8 character. The zero
// value is ready to use. A Converter is not safe for concurrent use.
type Converter struct {
	st      style  // style in force for the next text
	line    []byte // current line's text bytes, raw
	runs    []run  // styles of line, by byte offset
	pending []byte // an incomplete escape sequence
	cr      bool   // a '\r' was the last byte seen
	out     strings.Builder
	tags    map[style]string
}

// run says that line bytes from start on have style st.
type run struct {
	start int
	st    style
}

// Write consumes p and returns the HTML of every line completed by it,
// each ending with "\n". Spans never cross a line, so each returned chunk
// is well-formed HTML on its own.
func (c *Converter) Write(p []byte) string {
	c.out.Reset()
	if len(c.pending) > 0 {
		p = append(c.pending, p...)
		c.pending = nil
	}
	for i := 0; i < len(p); {
		b := p[i]
		if c.cr {
			c.cr = false
			if b != '\n' {
				c.clearLine()
			}
		}
		switch {
		case b == 0x1b:
			n, complete := c.escape(p[i:])
			if !complete {
				c.pending = append([]byte(nil), p[i:]...)
				return c.out.String()
			}
			i += n
			continue
		case b == '\n':
			c.endLine()
		case b == '\r':
			c.cr = true
		case b == '\b':
			c.backspace()
		case printable(b):
			j := i + 1
			for j < len(p) && printable(p[j]) && j-i < maxLine {
				j++
			}
			c.text(p[i:j])
			i = j
			continue
		}
		i++
	}
	return c.out.String()
}

// Partial returns the HTML of the line written so far, without a newline;
// it does not consume it.
func (c *Converter) Partial() string {
	var b strings.Builder
	c.render(&b)
	return b.String()
}

func printable(b byte) bool { return b == '\t' || b >= 0x20 && b != 0x7f }

func (c *Converter) text(p []byte) {
	if n := len(c.runs); n == 0 || c.runs[n-1].st != c.st {
		c.runs = append(c.runs, run{start: len(c.line), st: c.st})
	}
	c.line = append(c.line, p...)
	if len(c.line) >= maxLine {
		c.endLine()
	}
}

func (c *Converter) backspace() {
	if len(c.line) == 0 {
		return
	}
	_, size := utf8.DecodeLastRune(c.line)
	c.line = c.line[:len(c.line)-size]
	for n := len(c.runs); n > 0 && c.runs[n-1].start >= len(c.line); n-- {
		c.runs = c.runs[:n-1]
	}
}

func (c *Converter) clearLine() {
	c.line = c.line[:0]
	c.runs = c.runs[:0]
}

func (c *Converter) endLine() {
	c.render(&c.out)
	c.out.WriteByte('\n')
	c.clearLine()
}

// render writes the current line as HTML.
func (c *Converter) render(b *strings.Builder) {
	for i, r := range c.runs {
		end := len(c.line)
		if i+1 < len(c.runs) {
			end = c.runs[i+1].start
		}
		if r.st == (style{}) {
			escape(b, c.line[r.start:end])
			continue
		}
		b.WriteString(c.tag(r.st))
		escape(b, c.line[r.start:end])
		b.WriteString("</span>")
	}
}

// tag returns the opening tag of st, remembering it: a log uses few
// styles, many times.
func (c *Converter) tag(st style) string {
	if t, ok := c.tags[st]; ok {
		return t
	}
	if c.tags == nil {
		c.tags = make(map[style]string)
	}
	t := st.openTag()
	c.tags[st] = t
	return t
}

// escape writes p as HTML text: markup characters become entities and
// invalid UTF-8 becomes U+FFFD.
func escape(b *strings.Builder, p []byte) {
	if !utf8.Valid(p) {
		b.WriteString(html.EscapeString(strings.ToValidUTF8(string(p), "\uFFFD")))
		return
	}
	start := 0
	for i, ch := range p {
		var ent string
		switch ch {
		case '<':
			ent = "&lt;"
		case '>':
			ent = "&gt;"
		case '&':
			ent = "&amp;"
		case '"':
			ent = "&#34;"
		case '\'':
			ent = "&#39;"
		default:
			continue
		}
		b.Write(p[start:i])
		b.WriteString(ent)
		start = i + 1
	}
	b.Write(p[start:])
}

// escape handles the escape sequence at the start of p. It returns the
// bytes consumed, or complete=false when p ends inside the sequence.
func (c *Converter) escape(p []byte) (n int, complete bool) {
	if len(p) < 2 {
		return 0, false
	}
	switch p[1] {
	case '[':
		return c.csi(p)
	case ']', 'P', '_', '^', 'X':
		return stringSequence(p)
	}
	// A two-byte sequence (ESC 7, ESC =, ...) or ESC with an intermediate
	// byte such as ESC ( B: skip the intermediates and the final byte.
	i := 1
	for i < len(p) && p[i] >= 0x20 && p[i] <= 0x2f {
		i++
	}
	if i >= len(p) {
		return 0, false
	}
	return i + 1, true
}

// csi handles ESC [ params final. Only SGR ('m') and erase-line ('K' with
// parameter 2) change the output; the rest are dropped.
func (c *Converter) csi(p []byte) (int, bool) {
	i := 2
	for i < len(p) && p[i] >= 0x20 && p[i] <= 0x3f {
		i++
	}
	if i >= len(p) {
		if len(p) > 64 { // not a real sequence: drop what we have
			return len(p), true
		}
		return 0, false
	}
	params := string(p[2:i])
	switch p[i] {
	case 'm':
		c.st = c.st.apply(params)
	case 'K':
		if params == "2" {
			c.clearLine()
		}
	}
	return i + 1, true
}

// stringSequence skips an OSC/DCS-like sequence ended by BEL or ESC \.
func stringSequence(p []byte) (int, bool) {
	for i := 2; i < len(p); i++ {
		switch {
		case p[i] == 0x07:
			return i + 1, true
		case p[i] == 0x1b && i+1 < len(p) && p[i+1] == '\\':
			return i + 2, true
		case p[i] == 0x1b && i+1 == len(p):
			return 0, false
		}
	}
	if len(p) > 4096 { // unterminated: give up on it
		return len(p), true
	}
	return 0, false
}

// color is 0 for the default, 1+n for palette colour n (0-255), or
// 0x1000000|rgb for a 24-bit colour.
type color uint32

const rgbFlag = 0x1000000

type style struct {
	fg, bg                                        color
	bold, dim, italic, underline, inverse, strike bool
}

// apply returns s changed by the SGR parameters params ("1;31", "", ...).
func (s style) apply(params string) style {
	if params == "" {
		return style{}
	}
	fields := strings.FieldsFunc(params, func(r rune) bool { return r == ';' || r == ':' })
	nums := make([]int, len(fields))
	for i, f := range fields {
		nums[i], _ = strconv.Atoi(f) // garbage reads as 0, a reset, like terminals do
	}
	for i := 0; i < len(nums); i++ {
		n := nums[i]
		switch {
		case n == 0:
			s = style{}
		case n == 1:
			s.bold = true
		case n == 2:
			s.dim = true
		case n == 3:
			s.italic = true
		case n == 4:
			s.underline = true
		case n == 7:
			s.inverse = true
		case n == 9:
			s.strike = true
		case n == 22:
			s.bold, s.dim = false, false
		case n == 23:
			s.italic = false
		case n == 24:
			s.underline = false
		case n == 27:
			s.inverse = false
		case n == 29:
			s.strike = false
		case n >= 30 && n <= 37:
			s.fg = color(n - 30 + 1)
		case n >= 90 && n <= 97:
			s.fg = color(n - 90 + 8 + 1)
		case n >= 40 && n <= 47:
			s.bg = color(n - 40 + 1)
		case n >= 100 && n <= 107:
			s.bg = color(n - 100 + 8 + 1)
		case n == 39:
			s.fg = 0
		case n == 49:
			s.bg = 0
		case n == 38 || n == 48:
			var col color
			col, i = extended(nums, i)
			if n == 38 {
				s.fg = col
			} else {
				s.bg = col
			}
		}
	}
	return s
}

// extended parses "38;5;n" or "38;2;r;g;b" starting at nums[i] and returns
// the colour and the index of the last parameter used.
func extended(nums []int, i int) (color, int) {
	if i+2 < len(nums) && nums[i+1] == 5 {
		return color(clamp(nums[i+2]) + 1), i + 2
	}
	if i+4 < len(nums) && nums[i+1] == 2 {
		rgb := clamp(nums[i+2])<<16 | clamp(nums[i+3])<<8 | clamp(nums[i+4])
		return color(rgbFlag | rgb), i + 4
	}
	return 0, len(nums)
}

func clamp(n int) int { return max(0, min(255, n)) }

// openTag returns the <span> that starts text in style s. The 16 basic
// colours use classes so the stylesheet can adapt them to light and dark
// themes; other colours are written inline.
func (s style) openTag() string {
	fg, bg := s.fg, s.bg
	var classes []string
	if s.inverse {
		fg, bg = bg, fg
		if fg == 0 {
			classes = append(classes, "a-rf")
		}
		if bg == 0 {
			classes = append(classes, "a-rb")
		}
	}
	var css []string
	classes, css = colorAttr(classes, css, "f", "color", fg)
	classes, css = colorAttr(classes, css, "b", "background-color", bg)
	for _, f := range []struct {
		on   bool
		name string
	}{{s.bold, "a-bo"}, {s.dim, "a-di"}, {s.italic, "a-it"}, {s.underline, "a-un"}, {s.strike, "a-st"}} {
		if f.on {
			classes = append(classes, f.name)
		}
	}
	tag := "<span"
	if len(classes) > 0 {
		tag += ` class="` + strings.Join(classes, " ") + `"`
	}
	if len(css) > 0 {
		tag += ` style="` + strings.Join(css, ";") + `"`
	}
	return tag + ">"
}

func colorAttr(classes, css []string, prefix, prop string, c color) ([]string, []string) {
	switch {
	case c == 0:
	case c&rgbFlag != 0:
		css = append(css, fmt.Sprintf("%s:#%06x", prop, uint32(c)&0xffffff))
	case c <= 16:
		classes = append(classes, fmt.Sprintf("a-%s%d", prefix, c-1))
	default:
		css = append(css, fmt.Sprintf("%s:#%06x", prop, palette(int(c-1))))
	}
	return classes, css
}

// palette returns the RGB value of xterm colour n (16-255).
func palette(n int) int {
	if n >= 232 {
		g := 8 + (n-232)*10
		return g<<16 | g<<8 | g
	}
	n -= 16
	level := func(v int) int {
		if v == 0 {
			return 0
		}
		return 55 + v*40
	}
	return level(n/36)<<16 | level(n/6%6)<<8 | level(n%6)
}
