package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
)

// Version is the release; builds from a checkout report "devel" plus the
// VCS revision when the Go toolchain recorded one.
var Version = "0.1.0"

func versionString() string {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return v
}

func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "print the version of builds",
		run: func(ctx context.Context, fs *flag.FlagSet, args []string) error {
			if len(args) > 0 {
				return usageErrorf("version takes no arguments")
			}
			fmt.Fprintln(os.Stdout, "builds", versionString())
			return nil
		},
	}
}
