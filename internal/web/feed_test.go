package web_test

import (
	"context"
	"encoding/xml"
	"html"
	"strings"
	"testing"

	"builds/internal/build"
	"builds/internal/submit"
)

// Feed readers render an item's description as HTML; a job's note is the
// submitter's text, so it must arrive as text.
func TestFeedDescriptionIsPlainText(t *testing.T) {
	e := newEnv(t)
	note := `<img src=x onerror="alert(1)"> & <b>bold</b>`
	_, err := e.submit.Submit(context.Background(), e.users["alice"], submit.SubmitInput{
		Manifest: testManifest, Note: note, Execute: true, Visibility: build.Public})
	if err != nil {
		t.Fatal(err)
	}
	res := e.anon().get("/~alice/rss.xml")
	var doc struct {
		Items []struct {
			Description string `xml:"description"`
		} `xml:"channel>item"`
	}
	if err := xml.Unmarshal([]byte(res.body), &doc); err != nil || len(doc.Items) != 1 {
		t.Fatalf("feed: %v\n%s", err, res.body)
	}
	d := doc.Items[0].Description
	if strings.ContainsAny(d, "<>") {
		t.Errorf("description carries markup a reader would render: %q", d)
	}
	if html.UnescapeString(d) != note {
		t.Errorf("description %q does not show the note %q as text", d, note)
	}
}
