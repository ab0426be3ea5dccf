package main

import (
	"context"
	"flag"
)

// manifestCommand is filled in by the manifest checker.
func manifestCommand() *command {
	return &command{
		name:    "manifest",
		usage:   "check FILE...",
		summary: "check build manifests without submitting them",
		run: func(ctx context.Context, fs *flag.FlagSet, args []string) error {
			return usageErrorf("not implemented yet")
		},
	}
}
