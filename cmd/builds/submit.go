package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"builds/internal/manifest"
)

// Environment variables the client reads when no flag is given.
const (
	envURL   = "BUILDS_URL"
	envToken = "BUILDS_TOKEN"
)

// defaultURL is where a single-host master listens by default.
const defaultURL = "http://127.0.0.1:8080"

func submitCommand() *command {
	return &command{
		name:    "submit",
		usage:   "[flags] FILE   (FILE - reads stdin)",
		summary: "submit a build manifest to a server and print the job's URL",
		flags: func(fs *flag.FlagSet) {
			fs.String("url", "", "server URL (default $"+envURL+", else "+defaultURL+")")
			fs.String("token", "", "personal access token (default $"+envToken+")")
			fs.String("note", "", "a note shown with the job")
			fs.Var(&stringList{}, "tag", "a tag for the job (repeat for more)")
			fs.String("visibility", "", "PUBLIC, UNLISTED or PRIVATE (default: the server's, UNLISTED)")
			fs.Bool("execute", true, "queue the job at once; false leaves it pending until started")
			fs.Bool("secrets", true, "make the manifest's secrets available (default: when the token may read secrets)")
			fs.Bool("follow", false, "print the job's logs as it runs; exit 0 only if it succeeds")
		},
		run: runSubmit,
	}
}

// stringList is a flag that may be repeated.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// submitted is what the server answered about a new job.
type submitted struct {
	ID     int64
	Status string
	Owner  struct{ CanonicalName string }
	URL    string // the job's page
}

func runSubmit(ctx context.Context, fs *flag.FlagSet, args []string) error {
	args, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return usageErrorf("expected one manifest file (or - for stdin)")
	}
	data, err := readInput(args[0], manifest.MaxSize)
	if err != nil {
		return err
	}
	client, err := clientFromFlags(fs)
	if err != nil {
		return err
	}
	job, err := submitManifest(ctx, client, string(data), submitVars(fs))
	if err != nil {
		return err
	}
	printWarnings(os.Stderr, args[0], data)
	fmt.Fprintln(os.Stdout, job.URL)
	if flagString(fs, "follow") != "true" {
		return nil
	}
	status, err := followJob(ctx, client, job.ID, os.Stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "\n\x1b[1mjob #%d: %s\x1b[0m  %s\n", job.ID, status, job.URL)
	if status != "success" {
		return exitError(1)
	}
	return nil
}

// printWarnings prints what the submitted manifest holds that is accepted
// but ignored, as manifest check does. It reads the manifest locally rather
// than asking the server, so that it works against builds.sr.ht too.
func printWarnings(w io.Writer, name string, data []byte) {
	m, err := manifest.Parse(data)
	if err != nil {
		return
	}
	if name == "-" {
		name = "<stdin>"
	}
	writeProblems(w, name, "warning: ", m.Warnings)
}

// submitVars turns the flags into the submit mutation's variables.
// Booleans are sent only when given, so that the server's defaults apply
// otherwise (secrets, for example, depend on the token's grants).
func submitVars(fs *flag.FlagSet) map[string]any {
	vars := map[string]any{}
	if n := flagString(fs, "note"); n != "" {
		vars["note"] = n
	}
	if tags := *fs.Lookup("tag").Value.(*stringList); len(tags) > 0 {
		vars["tags"] = []string(tags)
	}
	if v := flagString(fs, "visibility"); v != "" {
		vars["visibility"] = strings.ToUpper(v)
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "execute" || f.Name == "secrets" {
			vars[f.Name] = f.Value.String() == "true"
		}
	})
	return vars
}

const submitMutation = `mutation submit($manifest: String!, $tags: [String!], $note: String,
	$secrets: Boolean, $execute: Boolean, $visibility: Visibility) {
	submit(manifest: $manifest, tags: $tags, note: $note, secrets: $secrets,
		execute: $execute, visibility: $visibility) {
		id status owner { canonicalName }
	}
}`

// submitManifest submits one manifest and returns the new job.
func submitManifest(ctx context.Context, c *gqlClient, manifest string, vars map[string]any) (*submitted, error) {
	vars["manifest"] = manifest
	var out struct{ Submit submitted }
	if err := c.do(ctx, submitMutation, vars, &out); err != nil {
		return nil, err
	}
	j := &out.Submit
	j.URL = fmt.Sprintf("%s/%s/job/%d", c.base, j.Owner.CanonicalName, j.ID)
	return j, nil
}

// gqlClient sends GraphQL requests to a server's /query endpoint.
type gqlClient struct {
	base  string // server URL without a trailing slash
	token string
	http  *http.Client
}

// clientFromFlags builds a client from --url/--token or the environment.
func clientFromFlags(fs *flag.FlagSet) (*gqlClient, error) {
	base := firstNonEmpty(flagString(fs, "url"), os.Getenv(envURL), defaultURL)
	token := firstNonEmpty(flagString(fs, "token"), os.Getenv(envToken))
	if token == "" {
		return nil, usageErrorf("no token: pass --token or set $%s (an operator creates one with 'builds token create USER')", envToken)
	}
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, usageErrorf("--url %q must start with http:// or https://", base)
	}
	return &gqlClient{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: time.Minute}}, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// do runs one operation and decodes its data into out. GraphQL errors
// come back as one error listing every message.
func (c *gqlClient) do(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/query", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read answer from %s: %w", c.base, err)
	}
	return decodeGraphQL(resp.StatusCode, raw, out)
}

func decodeGraphQL(status int, raw []byte, out any) error {
	var r struct {
		Data   json.RawMessage
		Errors []struct{ Message string }
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("the server answered HTTP %d with something that is not GraphQL: %.200q", status, raw)
	}
	if len(r.Errors) > 0 {
		msgs := make([]string, len(r.Errors))
		for i, e := range r.Errors {
			msgs[i] = e.Message
		}
		return errors.New(strings.Join(msgs, "\n"))
	}
	if status/100 != 2 {
		return fmt.Errorf("the server answered HTTP %d", status)
	}
	return json.Unmarshal(r.Data, out)
}
