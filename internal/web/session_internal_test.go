package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestReadSessionRefusesTamperedAndExpired feeds readSession cookies that
// a visitor could forge or keep past their time.
func TestReadSessionRefusesTamperedAndExpired(t *testing.T) {
	k, err := deriveKeys(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{keys: k}
	read := func(value string) (session, bool) {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: value})
		return s.readSession(r)
	}
	live := session{UserID: 7, Nonce: "nonce", Expires: time.Now().Add(time.Hour)}
	if got, ok := read(signed(k.session, live.encode())); !ok || got.UserID != 7 {
		t.Fatalf("a valid cookie was refused: %+v %v", got, ok)
	}
	expired := session{UserID: 7, Nonce: "nonce", Expires: time.Now().Add(-time.Second)}
	good := signed(k.session, live.encode())
	sig := good[strings.LastIndexByte(good, '.'):]
	flipped := []byte(good)
	flipped[len(flipped)-2] ^= 1
	for name, value := range map[string]string{
		"expired":                  signed(k.session, expired.encode()),
		"other user, same sig":     strings.Replace(live.encode(), "7:", "1:", 1) + sig,
		"later expiry, same sig":   strings.Replace(live.encode(), ":", ":9", 1) + sig,
		"flipped signature":        string(flipped),
		"signed with the CSRF key": signed(k.csrf, live.encode()),
		"no signature":             live.encode(),
		"empty signature":          live.encode() + ".",
		"garbage":                  "x.y.z",
	} {
		if got, ok := read(value); ok {
			t.Errorf("%s: accepted as %+v", name, got)
		}
	}
}
