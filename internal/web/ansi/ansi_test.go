package ansi_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"builds/internal/web/ansi"
)

func TestConvert(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello\n", "hello\n"},
		{"escapes html", "<b>&\"x\"</b>\n", "&lt;b&gt;&amp;&#34;x&#34;&lt;/b&gt;\n"},
		{"basic colour", "\x1b[31mred\x1b[0m ok\n", `<span class="a-f1">red</span> ok` + "\n"},
		{"bright and bold", "\x1b[1;92mgo\x1b[m\n", `<span class="a-f10 a-bo">go</span>` + "\n"},
		{"background", "\x1b[44mbg\x1b[49m\n", `<span class="a-b4">bg</span>` + "\n"},
		{"256 colour", "\x1b[38;5;196mx\n", `<span style="color:#ff0000">x</span>` + "\n"},
		{"256 grey", "\x1b[48;5;232mx\n", `<span style="background-color:#080808">x</span>` + "\n"},
		{"truecolor", "\x1b[38;2;1;2;3mx\n", `<span style="color:#010203">x</span>` + "\n"},
		{"style spans lines", "\x1b[32ma\nb\x1b[0m\nc\n",
			`<span class="a-f2">a</span>` + "\n" + `<span class="a-f2">b</span>` + "\nc\n"},
		{"cursor moves dropped", "a\x1b[2Jb\x1b[10;5Hc\n", "abc\n"},
		{"osc title dropped", "\x1b]0;title\x07text\n", "text\n"},
		{"osc st dropped", "\x1b]8;;http://x\x1b\\link\n", "link\n"},
		{"charset dropped", "\x1b(Bx\n", "x\n"},
		{"carriage return redraws", "10%\r50%\r100%\n", "100%\n"},
		{"crlf is a newline", "a\r\nb\r\n", "a\nb\n"},
		{"erase line", "old\x1b[2Knew\n", "new\n"},
		{"backspace", "ab\bc\n", "ac\n"},
		{"controls dropped", "a\x00\x07b\n", "ab\n"},
		{"tab kept", "a\tb\n", "a\tb\n"},
		{"no trailing newline", "partial", "partial"},
		{"invalid utf8", "a\xffb\n", "a\uFFFDb\n"},
		{"inverse default", "\x1b[7mx\n", `<span class="a-rf a-rb">x</span>` + "\n"},
		{"inverse colour", "\x1b[7;31mx\n", `<span class="a-rf a-b1">x</span>` + "\n"},
		{"reset attributes", "\x1b[1;3;4mx\x1b[22;23;24my\n", `<span class="a-bo a-it a-un">x</span>y` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ansi.Convert([]byte(tt.in)); got != tt.want {
				t.Errorf("Convert(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestStreamSplits checks that cutting the input anywhere gives the same
// HTML as converting it whole.
func TestStreamSplits(t *testing.T) {
	in := "\x1b[1;31mé\x1b]0;t\x07rr\x1b[0m\r\nprogress 1\rprogress 2\n\x1b[38;2;9;9;9mx\x1b[m€\n"
	want := ansi.Convert([]byte(in))
	for cut := 0; cut <= len(in); cut++ {
		var c ansi.Converter
		got := c.Write([]byte(in[:cut]))
		got += c.Write([]byte(in[cut:]))
		got += c.Partial()
		if got != want {
			t.Errorf("cut at %d:\n got %q\nwant %q", cut, got, want)
		}
	}
}

func TestPartialLine(t *testing.T) {
	var c ansi.Converter
	if got := c.Write([]byte("done\n\x1b[33mDownloading 10%")); got != "done\n" {
		t.Fatalf("Write = %q, want the complete line only", got)
	}
	if got, want := c.Partial(), `<span class="a-f3">Downloading 10%</span>`; got != want {
		t.Errorf("Partial = %q, want %q", got, want)
	}
	c.Write([]byte("\rDownloading 90%"))
	if got, want := c.Partial(), `<span class="a-f3">Downloading 90%</span>`; got != want {
		t.Errorf("Partial after \\r = %q, want %q", got, want)
	}
}

func TestLongLineIsCut(t *testing.T) {
	got := ansi.Convert([]byte(strings.Repeat("x", 200<<10)))
	if n := strings.Count(got, "\n"); n < 3 {
		t.Errorf("a 200 KiB line gave %d newlines; want it cut into pieces", n)
	}
}

func FuzzConvert(f *testing.F) {
	f.Add([]byte("\x1b[1;31mred\x1b[0m\r\nx\ry<&>"))
	f.Add([]byte("\x1b]8;;u\x1b\\\x1b[38;5;300;48;2;1;2mz"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out := ansi.Convert(in)
		if !utf8.ValidString(out) {
			t.Fatalf("output is not UTF-8: %q", out)
		}
		if strings.Contains(out, "\x1b") {
			t.Fatalf("an escape byte leaked: %q", out)
		}
		if strings.Count(out, "<span") != strings.Count(out, "</span>") {
			t.Fatalf("unbalanced spans: %q", out)
		}
		stripped := strings.NewReplacer("<span", "", "</span>", "").Replace(out)
		if i := strings.IndexAny(stripped, "<"); i >= 0 {
			t.Fatalf("unescaped '<' in %q", out)
		}
	})
}
