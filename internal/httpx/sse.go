package httpx

import "net/http"

// StartEventStream answers a request with a server-sent event stream: it
// sets the headers (no caching, no proxy buffering), sends them and
// flushes. It returns the controller to flush each event with, and false
// when the client is already gone.
func StartEventStream(w http.ResponseWriter) (*http.ResponseController, bool) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return rc, rc.Flush() == nil
}
