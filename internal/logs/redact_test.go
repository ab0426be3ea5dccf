package logs_test

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"

	"builds/internal/logs"
)

func TestRedact(t *testing.T) {
	const secret = "hunter2-s3cr3t!"
	b64 := base64.StdEncoding.EncodeToString([]byte(secret))
	url := base64.URLEncoding.EncodeToString([]byte("??>>??>>" + secret))
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"no secrets", nil, "plain " + secret, "plain " + secret},
		{"plain", []string{secret}, "pw=" + secret + "\n", "pw=[redacted]\n"},
		{"twice", []string{secret}, secret + " and " + secret, "[redacted] and [redacted]"},
		{"back to back", []string{secret}, secret + secret, "[redacted]"},
		{"base64 std", []string{secret}, "b64 " + b64 + " end", "b64 [redacted] end"},
		{"base64 raw", []string{secret}, "b64 " + strings.TrimRight(b64, "=") + " end", "b64 [redacted] end"},
		{"base64 url", []string{"??>>??>>" + secret}, "u " + url + " end", "u [redacted] end"},
		{"overlapping", []string{"abcdef", "cdefgh"}, "xxabcdefghyy", "xx[redacted]yy"},
		{"nested", []string{"abcdefgh", "cde"}, "1abcdefgh2cde3", "1[redacted]2[redacted]3"},
		{"self overlapping", []string{"aba"}, "xababay", "x[redacted]y"},
		{"empty secret ignored", []string{""}, "abc", "abc"},
		{"multi-line as CRLF", []string{"line one\nline two"}, "<line one\r\nline two>", "<[redacted]\r\n[redacted]>"},
		{"line of a key", []string{"-----BEGIN KEY-----\nMIIEowIBAAKCAQEAx8q2\n-----END KEY-----"},
			"leak MIIEowIBAAKCAQEAx8q2 here -----END KEY-----", "leak [redacted] here -----END KEY-----"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := logs.NewRedactor(toBytes(tt.secrets))
			if got := string(r.Redact([]byte(tt.in))); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func toBytes(ss []string) [][]byte {
	var out [][]byte
	for _, s := range ss {
		out = append(out, []byte(s))
	}
	return out
}

// A secret inside a larger base64 blob, at any of the three alignments,
// leaves no more than a few bits of itself in the output.
func TestRedactEmbeddedBase64(t *testing.T) {
	secret := []byte("correct horse battery staple")
	r := logs.NewRedactor([][]byte{secret})
	for shift := range 3 {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			blob := append(bytes.Repeat([]byte{'#'}, 10+shift), secret...)
			blob = append(blob, "tail bytes"...)
			in := enc.EncodeToString(blob)
			got := string(r.Redact([]byte(in)))
			if !strings.Contains(got, logs.Redacted) {
				t.Fatalf("shift %d: %q not redacted", shift, in)
			}
			// At most one character on each side of the marker may still
			// depend on the secret; the rest of it must be gone.
			if len(in)-len(got)+len(logs.Redacted) < len(secret)*4/3-4 {
				t.Errorf("shift %d: too little removed: %q -> %q", shift, in, got)
			}
		}
	}
}

// Streaming through the writer in any chunking gives exactly what redacting
// the whole text at once gives.
func TestRedactWriterChunking(t *testing.T) {
	secrets := [][]byte{[]byte("s3cr3t-token-value"), []byte("abcabd"), []byte("token-value-2"),
		[]byte("line-one\nline-two\n")}
	r := logs.NewRedactor(secrets)
	text := []byte("start s3cr3t-token-value-2 abcabcabd and " +
		base64.StdEncoding.EncodeToString(secrets[0]) + " abcab\nend abcabd\n" +
		"line-one\r\nline-two\r\nline-one\nline-two\n\nline-twoline-one\n")
	want := r.Redact(text)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		var out bytes.Buffer
		w := r.Writer(&out)
		for rest := text; len(rest) > 0; {
			n := min(1+rng.IntN(8), len(rest))
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("chunked output %q, want %q", out.Bytes(), want)
		}
	}
	if bytes.Contains(want, secrets[0]) || bytes.Contains(want, secrets[1]) {
		t.Fatalf("secret left in %q", want)
	}
}

// Bytes that cannot begin a secret are written at once, not held back.
func TestRedactWriterHoldsOnlyPossiblePrefixes(t *testing.T) {
	r := logs.NewRedactor([][]byte{[]byte("secret")})
	var out bytes.Buffer
	w := r.Writer(&out)
	w.Write([]byte("hello wor"))
	if out.String() != "hello wor" {
		t.Fatalf("after plain text, wrote %q", out.String())
	}
	w.Write([]byte("ld sec"))
	if out.String() != "hello world " {
		t.Fatalf("after a possible prefix, wrote %q", out.String())
	}
	w.Write([]byte("ret!"))
	if out.String() != "hello world [redacted]!" {
		t.Fatalf("after the secret, wrote %q", out.String())
	}
}

func FuzzRedactWriter(f *testing.F) {
	f.Add([]byte("xx secret yy c2VjcmV0 zz"), uint64(7))
	f.Add([]byte("sesecrsecretet"), uint64(3))
	f.Fuzz(func(t *testing.T, text []byte, seed uint64) {
		r := logs.NewRedactor([][]byte{[]byte("secret"), []byte("cret-ish")})
		want := r.Redact(text)
		var out bytes.Buffer
		w := r.Writer(&out)
		rng := rand.New(rand.NewPCG(seed, seed))
		for rest := text; len(rest) > 0; {
			n := min(1+rng.IntN(5), len(rest))
			w.Write(rest[:n])
			rest = rest[n:]
		}
		w.Flush()
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("chunked %q, whole %q", out.Bytes(), want)
		}
		if bytes.Contains(want, []byte("secret")) {
			t.Fatalf("secret left in %q", want)
		}
	})
}
