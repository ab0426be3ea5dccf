// Package httpx is what the web UI and the APIs share over HTTP, so that
// neither imports the other: the one mapping of domain error codes to HTTP
// statuses, personal access tokens, the access check of log and artifact
// requests, the artifact handler, and the cap on live streams per client.
package httpx
