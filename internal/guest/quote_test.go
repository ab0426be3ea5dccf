package guest_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"builds/internal/guest"
)

// hostile are arguments that would run code, split, glob or expand if they
// ever reached a shell unquoted.
var hostile = []string{
	"",
	" ",
	"plain",
	"it's",
	"'",
	"''",
	`'\''`,
	`"double"`,
	"$(touch /tmp/pwned)",
	"`touch /tmp/pwned`",
	"$HOME ${HOME} $1 $@ $*",
	"a;b && c || d | e & f",
	"*",
	"~",
	"~root",
	"line1\nline2\n",
	"tab\there",
	"back\\slash\\",
	"!history !!",
	"# comment",
	"<in >out 2>&1",
	"{a,b}",
	"\x01\x7f\xff",
	"ünïcödé ☃",
	"-n",
	"--",
}

func TestQuoteRoundTripsThroughShell(t *testing.T) {
	for _, s := range hostile {
		out, err := exec.Command("sh", "-c", "printf '%s' "+guest.Quote(s)).Output()
		if err != nil {
			t.Fatalf("sh with %q: %v", s, err)
		}
		if string(out) != s {
			t.Errorf("Quote(%q) came back as %q", s, out)
		}
	}
}

func TestCommandKeepsArgumentBoundaries(t *testing.T) {
	cmd, err := guest.Command(append([]string{"printf", `%s\0`}, hostile...))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bash", "-c", cmd).Output()
	if err != nil {
		t.Fatalf("bash: %v", err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(got) != len(hostile) {
		t.Fatalf("got %d arguments, want %d: %q", len(got), len(hostile), got)
	}
	for i := range got {
		if got[i] != hostile[i] {
			t.Errorf("argument %d: got %q, want %q", i, got[i], hostile[i])
		}
	}
}

func TestCommandRejectsNULAndEmpty(t *testing.T) {
	if _, err := guest.Command([]string{"echo", "a\x00b"}); err == nil {
		t.Error("NUL byte accepted")
	}
	if _, err := guest.Command(nil); err == nil {
		t.Error("empty argv accepted")
	}
}

func FuzzQuote(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			return // NUL cannot travel in argv: nothing to check
		}
		out, err := exec.Command("sh", "-c", "printf '%s' "+guest.Quote(s)).Output()
		if err != nil {
			t.Fatalf("sh with %q: %v", s, err)
		}
		if !bytes.Equal(out, []byte(s)) {
			t.Errorf("Quote(%q) came back as %q", s, out)
		}
	})
}
