package logs

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"builds/internal/untrusted"
)

// keepAliveAfter is how long an event stream may stay silent before a
// comment line is sent so that proxies keep it open.
const keepAliveAfter = 15 * time.Second

// AllowFunc decides whether the request may read the logs of job jobID. The
// master checks the job's visibility against the requester; a runner checks
// a token signed by the master.
type AllowFunc func(r *http.Request, jobID int64) bool

// Handler serves the logs of a Dir. Mount it at "/logs/":
//
//	GET /logs/<job id>/log            the job's own log
//	GET /logs/<job id>/<task>/log     a task's log
//
// A plain GET serves the file as it is now, with Range support (so
// "Range: bytes=-131072" fetches the last 128 KiB). The header
// X-Log-Complete says whether the log can still grow.
//
// With ?follow=1 the response streams the log as text/plain from ?offset=N
// (default 0), flushing each chunk as it is written, and ends when the log
// is complete.
//
// With "Accept: text/event-stream" the response is a server-sent event
// stream from ?offset=N or the Last-Event-ID header: each event's data is a
// JSON string holding the next chunk of the log (whole UTF-8 characters;
// ANSI escapes and carriage returns kept), and its id is the byte offset
// after the chunk. A final event named "end" says the log is complete; a
// client must close the stream then, or EventSource would reconnect.
//
// A request that allow refuses, or with a malformed path, gets 404. Every
// response carries the headers of package untrusted: a log is the build's
// own bytes and must never run as a page of the site.
type Handler struct {
	d     *Dir
	allow AllowFunc
}

// NewHandler returns a Handler for d. allow must not be nil.
func NewHandler(d *Dir, allow AllowFunc) *Handler {
	if allow == nil {
		panic("logs: NewHandler with a nil AllowFunc")
	}
	return &Handler{d: d, allow: allow}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	jobID, task, ok := parseLogPath(r.URL.Path)
	if !ok || !h.allow(r, jobID) {
		http.NotFound(w, r)
		return
	}
	path, err := h.d.Path(jobID, task)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	untrusted.Headers(w.Header())
	switch {
	case isEvents(r):
		h.serveEvents(w, r, jobID, task)
	case IsStream(r):
		h.serveFollow(w, r, jobID, task)
	default:
		h.d.serveFile(w, r, jobID, path)
	}
}

// IsStream reports whether r asks to follow a log live (?follow=1, or an
// event stream), rather than for the log as it is now.
func IsStream(r *http.Request) bool {
	f := r.URL.Query().Get("follow")
	return isEvents(r) || (f != "" && f != "0")
}

func isEvents(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// ServeLog serves a job's log (task "" for the job's own log) as it is
// now, as a plain GET of Handler does (Range requests included), without
// any access check: the caller has made it. A log that does not exist
// gets 404.
func (d *Dir) ServeLog(w http.ResponseWriter, r *http.Request, jobID int64, task string) {
	path, err := d.Path(jobID, task)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	untrusted.Headers(w.Header())
	d.serveFile(w, r, jobID, path)
}

// parseLogPath splits "/logs/<id>/log" or "/logs/<id>/<task>/log". The job
// ID must be written canonically; the task name is checked by Dir.Path.
func parseLogPath(p string) (jobID int64, task string, ok bool) {
	rest, found := strings.CutPrefix(p, "/logs/")
	if !found {
		return 0, "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[len(parts)-1] != "log" {
		return 0, "", false
	}
	id, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || id < 1 || strconv.FormatInt(id, 10) != parts[0] {
		return 0, "", false
	}
	if len(parts) == 3 {
		if parts[1] == "" {
			return 0, "", false
		}
		task = parts[1]
	}
	return id, task, true
}

func (d *Dir) serveFile(w http.ResponseWriter, r *http.Request, jobID int64, path string) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		slog.Error("serve log", "path", path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		slog.Error("serve log", "path", path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	complete := d.complete(jobID, path)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Log-Complete", strconv.FormatBool(complete))
	if !complete {
		w.Header().Set("Cache-Control", "no-store")
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// offsetParam returns the start offset of a stream: the query's offset, or
// the Last-Event-ID header's.
func offsetParam(r *http.Request) (int64, error) {
	s := r.URL.Query().Get("offset")
	if s == "" {
		s = r.Header.Get("Last-Event-ID")
	}
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("offset %q: must be a non-negative byte count", s)
	}
	return n, nil
}

func streamHeaders(w http.ResponseWriter, contentType string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // tell nginx not to buffer
}

func (h *Handler) serveFollow(w http.ResponseWriter, r *http.Request, jobID int64, task string) {
	offset, err := offsetParam(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc := http.NewResponseController(w)
	streamHeaders(w, "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil || r.Method == http.MethodHead {
		return
	}
	_ = h.d.Follow(r.Context(), jobID, task, offset, func(p []byte) error {
		if _, err := w.Write(p); err != nil {
			return err
		}
		return rc.Flush()
	}) // the only failures are the client going away or a broken disk; the response is already under way
}

func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request, jobID int64, task string) {
	offset, err := offsetParam(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	path, _ := h.d.Path(jobID, task) // checked by the caller
	rc := http.NewResponseController(w)
	streamHeaders(w, "text/event-stream")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil || r.Method == http.MethodHead {
		return
	}
	es := &eventStream{w: w, rc: rc, offset: offset}
	fl := &follower{d: h.d, jobID: jobID, path: path, offset: offset, fn: es.chunk,
		idle: es.keepAlive, idleAfter: keepAliveAfter}
	if fl.run(r.Context()) == nil {
		es.end()
	}
}

// eventStream writes log chunks as server-sent events. It holds back an
// incomplete UTF-8 character at the end of a chunk until its remaining
// bytes arrive, so that every event is valid text.
type eventStream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	offset  int64
	partial []byte
}

func (es *eventStream) chunk(p []byte) error {
	buf := append(es.partial, p...)
	cut := len(buf) - incompleteSuffix(buf)
	es.partial = append([]byte(nil), buf[cut:]...)
	if cut == 0 {
		return nil
	}
	es.offset += int64(cut)
	data, err := json.Marshal(string(buf[:cut]))
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(es.w, "id: %d\ndata: %s\n\n", es.offset, data); err != nil {
		return err
	}
	return es.rc.Flush()
}

func (es *eventStream) keepAlive() error {
	if _, err := es.w.Write([]byte(": keep-alive\n\n")); err != nil {
		return err
	}
	return es.rc.Flush()
}

func (es *eventStream) end() {
	if len(es.partial) > 0 {
		// The log ends inside a character: send the bytes as they are.
		es.offset += int64(len(es.partial))
		data, _ := json.Marshal(string(es.partial))
		fmt.Fprintf(es.w, "id: %d\ndata: %s\n\n", es.offset, data)
	}
	fmt.Fprintf(es.w, "id: %d\nevent: end\ndata: {\"offset\":%d}\n\n", es.offset, es.offset)
	_ = es.rc.Flush()
}

// incompleteSuffix returns how many bytes at the end of b begin a UTF-8
// character that is not complete yet.
func incompleteSuffix(b []byte) int {
	for i := 1; i <= utf8.UTFMax-1 && i <= len(b); i++ {
		c := b[len(b)-i]
		if !utf8.RuneStart(c) {
			continue
		}
		if c >= utf8.RuneSelf && !utf8.FullRune(b[len(b)-i:]) {
			return i
		}
		return 0
	}
	return 0
}
