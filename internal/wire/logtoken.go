package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// LogTokenHeader carries the master's token for a private job's logs on a
// request to a runner; the query parameter "token" works too.
const LogTokenHeader = "X-Builds-Log-Token"

// LogKey derives the key that signs log tokens from the network key, so
// that the network key itself signs nothing else.
func LogKey(networkKey []byte) []byte {
	h := hmac.New(sha256.New, networkKey)
	h.Write([]byte("builds log token v1"))
	return h.Sum(nil)
}

// SignLogToken returns a token that lets its bearer read job jobID's logs
// on a runner until exp.
func SignLogToken(key []byte, jobID int64, exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	return e + "." + logMAC(key, jobID, e)
}

func logMAC(key []byte, jobID int64, exp string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("job " + itoa(jobID) + " until " + exp))
	return hex.EncodeToString(h.Sum(nil))
}

// VerifyLogToken reports whether token lets its bearer read job jobID's
// logs now.
func VerifyLogToken(key []byte, jobID int64, token string, now time.Time) bool {
	e, sum, ok := strings.Cut(token, ".")
	if !ok || len(key) == 0 {
		return false
	}
	exp, err := strconv.ParseInt(e, 10, 64)
	if err != nil || now.Unix() > exp {
		return false
	}
	return hmac.Equal([]byte(sum), []byte(logMAC(key, jobID, e)))
}
