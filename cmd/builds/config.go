package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"builds/internal/config"
)

// addConfigFlags declares the flags every command that reads the
// configuration shares.
func addConfigFlags(fs *flag.FlagSet) {
	fs.String("config", "", "configuration file (INI); also $"+config.EnvFile+"; none needed on a single host")
	fs.String("data", "", "data directory for the embedded database, logs and keys (overrides the file; also $"+config.EnvData+")")
}

// loadConfig reads the file named by --config (or the environment) and
// applies --data. Warnings about unused keys go to stderr.
func loadConfig(fs *flag.FlagSet) (*config.Config, error) {
	path := flagString(fs, "config")
	if data := flagString(fs, "data"); data != "" {
		// The data directory decides derived defaults, so set it before
		// the file is read; a data-dir key in the file still loses to it.
		os.Setenv(config.EnvData, data)
	}
	c, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if data := flagString(fs, "data"); data != "" && c.DataDir != data {
		return nil, fmt.Errorf("--data %s conflicts with [builds.sr.ht] data-dir %s in %s; drop one of them", data, c.DataDir, c.Path)
	}
	for _, w := range c.Warnings {
		slog.Warn("config: " + w)
	}
	return c, nil
}

func flagString(fs *flag.FlagSet, name string) string {
	if f := fs.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}
