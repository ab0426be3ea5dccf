package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"builds/internal/dispatch"
	rq "builds/internal/queue/redis"
)

func runnersCommand() *command {
	return &command{
		name:    "runners",
		usage:   "[flags]",
		summary: "list the live runners registered in the shared Redis queue",
		flags: func(fs *flag.FlagSet) {
			addConfigFlags(fs)
			fs.Bool("json", false, "print JSON instead of a table")
		},
		run: runRunners,
	}
}

func runRunners(ctx context.Context, fs *flag.FlagSet, args []string) error {
	if len(args) > 0 {
		return usageErrorf("runners takes no arguments, got %q", args)
	}
	cfg, err := loadConfig(fs)
	if err != nil {
		return err
	}
	if cfg.Redis == "" {
		return fmt.Errorf("[builds.sr.ht] redis is not set: jobs run in-process and there are no remote runners")
	}
	rdb, err := rq.Dial(ctx, cfg.Redis)
	if err != nil {
		return err
	}
	defer rdb.Close()
	rs, err := dispatch.Runners(ctx, rdb, "")
	if err != nil {
		return err
	}
	if flagString(fs, "json") == "true" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rs)
	}
	return printRunners(rs)
}

func printRunners(rs []dispatch.RunnerInfo) error {
	if len(rs) == 0 {
		fmt.Println("no runner is registered (runners renew their registration every 5 s)")
		return nil
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tARCHES\tJOBS\tSTATE\tUP\tLOGS")
	for _, r := range rs {
		state := "taking jobs"
		if r.Draining {
			state = "draining"
		}
		jobs := fmt.Sprintf("%d/%d", len(r.Running), r.Capacity)
		if len(r.Running) > 0 {
			ids := make([]string, len(r.Running))
			for i, id := range r.Running {
				ids[i] = fmt.Sprint(id)
			}
			jobs += " (#" + strings.Join(ids, " #") + ")"
		}
		up := time.Since(r.Started).Round(time.Second)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, strings.Join(r.Arches, ","), jobs, state, up, r.LogURL)
	}
	return w.Flush()
}
