package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"builds/internal/build"
	"builds/internal/store"
)

// pageSize is how many jobs a list shows per page.
const pageSize = 25

type listView struct {
	Owner    *build.User // nil on the dashboard
	Tags     []tagLink   // the tag path filtered by, with links
	Jobs     []*build.Job
	Status   string
	Statuses []build.JobStatus
	Next     string // URL of the next page, "" when none
	Self     string // the list's URL without query
	Badge    string // badge and feed base, "" on the dashboard
	Search   string // the search box's text
}

// applySearch reads the search box as builds.sr.ht's does: "status:X",
// "image:X" and "tags:a/b" terms select on those fields, and the other
// words are looked for, together as written, in the note. It returns the
// status selected, "" for any.
func applySearch(f *store.JobFilter, search string) string {
	status := ""
	var words []string
	for _, term := range strings.Fields(search) {
		key, val, hasKey := strings.Cut(term, ":")
		switch {
		case hasKey && strings.EqualFold(key, "status") && build.JobStatus(strings.ToLower(val)).Valid():
			status = strings.ToLower(val)
		case hasKey && strings.EqualFold(key, "image") && val != "":
			f.Image = val
		case hasKey && strings.EqualFold(key, "tags") && val != "" && len(f.TagPrefix) == 0:
			f.TagPrefix = strings.Split(strings.Trim(val, "/"), "/")
		default:
			words = append(words, term)
		}
	}
	if status != "" {
		f.Status = []build.JobStatus{build.JobStatus(status)}
	}
	f.NoteContains = strings.Join(words, " ")
	return status
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r.Context())
	if u == nil {
		s.render(w, r, http.StatusOK, "landing", "", nil)
		return
	}
	s.list(w, r, u, nil, "/", "Dashboard")
}

// handleOwner serves /~name and the badge /~name.svg.
func (s *Server) handleOwner(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.PathValue("owner"), "~")
	if !ok {
		s.notFound(w, r)
		return
	}
	if base, isBadge := strings.CutSuffix(name, ".svg"); isBadge {
		s.badge(w, r, base, nil)
		return
	}
	s.ownerList(w, r, name, nil)
}

// handleOwnerPath serves /~name/<tags...>, /~name/<tags...>.svg and
// /~name[/<tags...>]/rss.xml.
func (s *Server) handleOwnerPath(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.PathValue("owner"), "~")
	if !ok {
		s.notFound(w, r)
		return
	}
	rest := strings.Trim(r.PathValue("rest"), "/")
	var tags []string
	if rest != "" {
		tags = strings.Split(rest, "/")
	}
	switch {
	case len(tags) > 0 && tags[len(tags)-1] == "rss.xml":
		s.feed(w, r, name, tags[:len(tags)-1])
	case len(tags) > 0 && strings.HasSuffix(tags[len(tags)-1], ".svg"):
		tags[len(tags)-1] = strings.TrimSuffix(tags[len(tags)-1], ".svg")
		s.badge(w, r, name, tags)
	default:
		s.ownerList(w, r, name, tags)
	}
}

func (s *Server) ownerList(w http.ResponseWriter, r *http.Request, name string, tags []string) {
	owner, err := s.opt.Store.UserByName(r.Context(), name)
	if err != nil {
		s.fail(w, r, notFoundUser(err, name))
		return
	}
	self := tagURL(owner.Name, tags, len(tags))
	s.list(w, r, owner, tags, self, "~"+owner.Name)
}

func notFoundUser(err error, name string) error {
	if build.ErrorCode(err) == build.ENOTFOUND {
		return build.Errorf(build.ENOTFOUND, "There is no user named ~%s.", name)
	}
	return fmt.Errorf("read user %s: %w", name, err)
}

// visibleFilter restricts a listing of owner's jobs to what the viewer
// may see listed: the owner sees all, others only public jobs.
func visibleFilter(viewer, owner *build.User) []build.Visibility {
	if viewer != nil && viewer.ID == owner.ID {
		return nil
	}
	return []build.Visibility{build.Public}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, owner *build.User, tags []string, self, title string) {
	q := r.URL.Query()
	f := store.JobFilter{OwnerID: owner.ID, TagPrefix: tags, Limit: pageSize,
		Visibility: visibleFilter(userFrom(r.Context()), owner)}
	f.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	search := strings.TrimSpace(q.Get("search"))
	status := applySearch(&f, search)
	if st := build.JobStatus(strings.ToLower(strings.TrimSpace(q.Get("status")))); st.Valid() {
		f.Status = []build.JobStatus{st}
		status = string(st)
	}
	jobs, next, err := s.opt.Store.ListJobs(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := &listView{Jobs: jobs, Status: status, Statuses: build.JobStatuses, Self: self, Search: search}
	if self != "/" {
		v.Owner = owner
		v.Badge = self
		for i := range tags {
			v.Tags = append(v.Tags, tagLink{Name: tags[i], URL: tagURL(owner.Name, tags, i+1)})
		}
	}
	if next != 0 {
		nq := url.Values{"before": {strconv.FormatInt(next, 10)}}
		if status != "" {
			nq.Set("status", status)
		}
		if search != "" {
			nq.Set("search", search)
		}
		v.Next = self + "?" + nq.Encode()
	}
	s.render(w, r, http.StatusOK, "list", title, v)
}
