package logs_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"builds/internal/logs"
)

// wrap76 is base64 as `base64 FILE` prints it: 76 columns, LF-terminated.
func wrap76(b []byte) string {
	e := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(e) > 76 {
		out.WriteString(e[:76] + "\n")
		e = e[76:]
	}
	return out.String() + e + "\n"
}

const sshKey = "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n" +
	"QyNTUxOQAAACDx3m1GWZ4bYr2zL0bL9hJ2fJ0m8Zc8w8kq0Ck5i7sJYwAAAJgq1bFHKtWx\n" +
	"AAAAC3NzaC1lZDI1NTE5AAAAIPHebUZZnhtivbMvRsv2EnZ8nSbxlzzDySrQKTmLuwljAA\n" +
	"-----END OPENSSH PRIVATE KEY-----\n"

// Every form in which a secret reaches a log is redacted, and the text
// around it, line breaks included, is left as it was.
func TestRedactForms(t *testing.T) {
	const short = "s3cr3t-val\n"
	const quoted = "it's \"x\"\tpw\n"
	multi := "first-line-token\nab\nthird-line-value\n"
	long := strings.Repeat("0123456789abcdef", 8) + "\n" // wraps at 76
	tests := []struct {
		name   string
		secret string
		in     string
		want   string
	}{
		{"with its newline", short, "a\ns3cr3t-val\nb\n", "a\n[redacted]\nb\n"},
		{"without its newline", short, "+ X=s3cr3t-val\n+ echo ok\n", "+ X=[redacted]\n+ echo ok\n"},
		{"newline kept, CRLF", short, "v=s3cr3t-val\r\nnext\r\n", "v=[redacted]\r\nnext\r\n"},
		{"one line of a multi-line secret", multi, "tok: third-line-value!\n", "tok: [redacted]!\n"},
		{"short lines stay", multi, "ab\n", "ab\n"},
		{"whole multi-line secret", multi, "[first-line-token\nab\nthird-line-value\n]",
			"[[redacted]\n[redacted]\n[redacted]\n]"},
		{"multi-line through a terminal", multi, "first-line-token\r\nab\r\nthird-line-value\r\n",
			"[redacted]\r\n[redacted]\r\n[redacted]\r\n"},
		{"set -x single quotes", quoted, `+ echo 'it'\''s "x"	pw'` + "\n", "+ echo '[redacted]'\n"},
		{"ansi-c quoting", quoted, `+ echo $'it\'s "x"\tpw'` + "\n", "+ echo $'[redacted]'\n"},
		{"ansi-c with newline", quoted, `+ printf %q $'it\'s "x"\tpw\n'` + "\n", "+ printf %q $'[redacted]'\n"},
		{"printf %q backslashes", "p@ss w,rd!{x}", `p@ss\ w\,rd\!\{x\}` + "\n", "[redacted]\n"},
		{"base64 unwrapped", short, base64.StdEncoding.EncodeToString([]byte(short)) + "\n", "[redacted]\n"},
		{"base64 without the newline", short, base64.StdEncoding.EncodeToString([]byte("s3cr3t-val")) + "\n", "[redacted]\n"},
		{"token piped to base64", "oauth-tok-5f2a9c", base64.StdEncoding.EncodeToString([]byte("oauth-tok-5f2a9c\n")) + "\n", "[redacted]\n"},
		{"base64 url raw", short, base64.RawURLEncoding.EncodeToString([]byte(short)) + ".", "[redacted]."},
		{"base64 wrapped at 76", long, wrap76([]byte(long)), "[redacted]\n[redacted]\n[redacted]\n"},
		{"base64 wrapped, terminal", long, strings.ReplaceAll(wrap76([]byte(long)), "\n", "\r\n"),
			"[redacted]\r\n[redacted]\r\n[redacted]\r\n"},
		{"key line", sshKey, "x QyNTUxOQAAACDx3m1GWZ4bYr2zL0bL9hJ2fJ0m8Zc8w8kq0Ck5i7sJYwAAAJgq1bFHKtWx y\n", "x [redacted] y\n"},
		{"one line of wrapped base64", long, "x " + wrap76([]byte(long))[77:77+76] + " y\n", "x [redacted] y\n"},
		{"key base64 wrapped", sshKey, "out:\n" + wrap76([]byte(sshKey)) + "done\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := logs.NewRedactor([][]byte{[]byte(tt.secret)})
			got := string(r.Redact([]byte(tt.in)))
			if tt.want != "" && got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if strings.Count(got, "\n") != strings.Count(tt.in, "\n") {
				t.Errorf("line breaks changed: %q -> %q", tt.in, got)
			}
			assertNoLeak(t, got, tt.secret)
		})
	}
}

// assertNoLeak fails if any line of secret (of MinLineSecret bytes or more)
// or any of its base64 forms is left in got.
func assertNoLeak(t *testing.T, got, secret string) {
	t.Helper()
	for line := range strings.SplitSeq(secret, "\n") {
		if len(line) >= logs.MinLineSecret && !strings.HasPrefix(line, "-----") && strings.Contains(got, line) {
			t.Errorf("line %q left in %q", line, got)
		}
	}
	for _, v := range []string{secret, strings.TrimRight(secret, "\n")} {
		if b := base64.RawStdEncoding.EncodeToString([]byte(v)); len(b) > 8 && strings.Contains(got, b[:8]) {
			t.Errorf("base64 of %q left in %q", v, got)
		}
	}
}

// Extra values (an OAuth token, tokens issued for the job) are redacted in
// the same forms as secrets.
func TestRedactExtraValues(t *testing.T) {
	r := logs.NewRedactor([][]byte{[]byte("file-secret")}, [][]byte{[]byte("oauth-tok-123")})
	in := "a file-secret b oauth-tok-123 c " + base64.StdEncoding.EncodeToString([]byte("oauth-tok-123")) + "\n"
	if got, want := string(r.Redact([]byte(in))), "a [redacted] b [redacted] c [redacted]\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// The real tools print a file secret as a task would, and the log keeps
// none of it: bash's trace of the value, $(cat FILE), printf %q, base64.
func TestRedactRealShellOutput(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	dir := t.TempDir()
	secrets := map[string]string{
		"short":  "s3cr3t-val\n",
		"quoted": "it's a \"pass\" w0rd\n",
		"ctrl":   "tab\there\x01and-more\n",
		"key":    sshKey,
	}
	script := "set -x\n"
	var vals [][]byte
	for name, v := range secrets {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		vals = append(vals, []byte(v))
		script += "V=$(cat " + f + "); echo \"$V\"; printf '%q\\n' \"$V\"; cat " + f +
			"; base64 " + f + "; base64 -w0 " + f + "; echo; : \"$V\"\n" +
			"grep -v -- ----- " + f + " | head -n 2 | tail -n 1 || true\n"
	}
	cmd := exec.CommandContext(t.Context(), bash, "-c", script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	got := string(logs.NewRedactor(vals).Redact(out))
	for _, v := range secrets {
		assertNoLeak(t, got, v)
	}
	for _, frag := range []string{"s3cr3t", "pass\" w0rd", "w0rd", "and-more", "QyNTUxOQAAACDx3m1"} {
		if strings.Contains(got, frag) {
			t.Errorf("fragment %q left in the log:\n%s", frag, got)
		}
	}
	if bytes.Count(out, []byte("\n")) != strings.Count(got, "\n") {
		t.Errorf("line count changed from %d to %d", bytes.Count(out, []byte("\n")), strings.Count(got, "\n"))
	}
}
