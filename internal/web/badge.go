package web

import (
	"encoding/xml"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"strings"
	"time"

	"builds/internal/build"
	"builds/internal/store"
)

// badgeColors follows the usual README badge palette.
var badgeColors = map[string]string{
	"success":   "#4c1",
	"failed":    "#e05d44",
	"timeout":   "#e05d44",
	"cancelled": "#9f9f9f",
	"running":   "#007ec6",
	"queued":    "#dfb317",
	"pending":   "#dfb317",
	"unknown":   "#9f9f9f",
}

var badgeSVG = template.Must(template.New("badge").Parse(
	`<svg xmlns="http://www.w3.org/2000/svg" width="{{.W}}" height="20" role="img" aria-label="{{.Label}}: {{.Status}}">` +
		`<title>{{.Label}}: {{.Status}}</title>` +
		`<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>` +
		`<clipPath id="r"><rect width="{{.W}}" height="20" rx="3" fill="#fff"/></clipPath>` +
		`<g clip-path="url(#r)"><rect width="{{.LW}}" height="20" fill="#555"/><rect x="{{.LW}}" width="{{.RW}}" height="20" fill="{{.Color}}"/>` +
		`<rect width="{{.W}}" height="20" fill="url(#s)"/></g>` +
		`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">` +
		`<text x="{{.LX}}" y="15" fill="#010101" fill-opacity=".3">{{.Label}}</text><text x="{{.LX}}" y="14">{{.Label}}</text>` +
		`<text x="{{.RX}}" y="15" fill="#010101" fill-opacity=".3">{{.Status}}</text><text x="{{.RX}}" y="14">{{.Status}}</text></g></svg>`))

// textWidth estimates the width of s in 11px Verdana.
func textWidth(s string) int { return 7*len(s) + 10 }

// latestPublic returns the newest public job of owner under tags, or nil.
func (s *Server) latestPublic(r *http.Request, owner *build.User, tags []string, limit int) ([]*build.Job, error) {
	jobs, _, err := s.opt.Store.ListJobs(r.Context(), store.JobFilter{OwnerID: owner.ID, TagPrefix: tags,
		Visibility: []build.Visibility{build.Public}, Limit: limit})
	return jobs, err
}

// badge serves the status of owner's latest public job under tags as an
// SVG image.
func (s *Server) badge(w http.ResponseWriter, r *http.Request, name string, tags []string) {
	owner, err := s.opt.Store.UserByName(r.Context(), name)
	if err != nil {
		s.fail(w, r, notFoundUser(err, name))
		return
	}
	jobs, err := s.latestPublic(r, owner, tags, 1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := "unknown"
	if len(jobs) > 0 {
		status = string(jobs[0].Status)
	}
	label := "builds"
	if len(tags) > 0 {
		label = strings.Join(tags, "/")
	}
	lw, rw := textWidth(label), textWidth(status)
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-cache")
	badgeSVG.Execute(w, map[string]any{"Label": label, "Status": status, "Color": badgeColors[status],
		"W": lw + rw, "LW": lw, "RW": rw, "LX": lw / 2, "RX": lw + rw/2})
}

type rss struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title       string    `xml:"title"`
	Link        string    `xml:"link"`
	Description string    `xml:"description"`
	Items       []rssItem `xml:"item"`
}

type rssItem struct {
	Title       string `xml:"title"`
	Link        string `xml:"link"`
	GUID        string `xml:"guid"`
	PubDate     string `xml:"pubDate"`
	Description string `xml:"description"`
}

// feed serves owner's latest public jobs under tags as RSS 2.0.
func (s *Server) feed(w http.ResponseWriter, r *http.Request, name string, tags []string) {
	owner, err := s.opt.Store.UserByName(r.Context(), name)
	if err != nil {
		s.fail(w, r, notFoundUser(err, name))
		return
	}
	jobs, err := s.latestPublic(r, owner, tags, 30)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	what := "~" + owner.Name
	if len(tags) > 0 {
		what += "/" + strings.Join(tags, "/")
	}
	ch := rssChannel{Title: what + " builds", Link: s.opt.Origin + tagURL(owner.Name, tags, len(tags)),
		Description: "Latest public builds of " + what + " on " + s.opt.SiteName}
	for _, j := range jobs {
		link := s.opt.Origin + jobURL(j)
		title := fmt.Sprintf("#%d %s", j.ID, j.Status)
		if n := firstLine(j.Note); n != "" {
			title += ": " + n
		}
		ch.Items = append(ch.Items, rssItem{Title: title, Link: link, GUID: link,
			PubDate: j.Created.UTC().Format(time.RFC1123Z), Description: plainDescription(j.Note)})
	}
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	enc.Encode(rss{Version: "2.0", Channel: ch})
}

// plainDescription makes a job's note safe as an RSS description, which
// feed readers render as HTML: the note is the submitter's text, so it is
// escaped to show as text, never as markup.
func plainDescription(note string) string {
	return html.EscapeString(note)
}
