package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// RaceEnv is the environment variable that asks GoBuild for the race
// detector even when the tests themselves run without it.
const RaceEnv = "BUILDS_RACE"

// GoBuild builds the main package pkg into the file out for end-to-end
// tests. The binary has the race detector when the tests do (go test
// -race, as CI runs them) or when BUILDS_RACE=1; a race in it then prints
// a report that RaceReports finds in its output.
func GoBuild(pkg, out string) error {
	args := []string{"build", "-o", out}
	if Race || os.Getenv(RaceEnv) == "1" {
		args = append(args, "-race")
	}
	b, err := exec.Command("go", append(args, pkg)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(append(args, pkg), " "), err, b)
	}
	return nil
}

// raceMark starts every report of the race detector.
const raceMark = "WARNING: DATA RACE"

// RaceReports returns the race detector's reports in a process's output,
// or "" when there are none.
func RaceReports(output string) string {
	i := strings.Index(output, raceMark)
	if i < 0 {
		return ""
	}
	return output[i:]
}
