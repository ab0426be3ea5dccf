package manifest_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"builds/internal/manifest"
	"builds/internal/testenv"
)

func TestEnvFile(t *testing.T) {
	m := parse(t, `image: debian/bookworm
tasks: [{a: b}]
environment:
  A: it's
  N: 1234567
  L: [x, "y z"]
  JOB_ID: from the manifest
`)
	got := m.EnvFile(manifest.EnvVar{Name: "JOB_ID", Value: "42"}, manifest.EnvVar{Name: "bad name", Value: "x"})
	want := `# The job's environment, sourced at the start of every task.
export A='it'\''s'
export N='1234567'
L=( 'x' 'y z' )
export JOB_ID='42'
`
	if got != want {
		t.Errorf("EnvFile:\n%s\nwant:\n%s", got, want)
	}
}

// hostile values that must reach a task byte for byte and run nothing.
var hostile = []string{
	"$(touch PWNED)",
	"`touch PWNED`",
	"'; touch PWNED; '",
	`"; touch PWNED; "`,
	"'\"'\"'",
	"line one\nline two\n$(touch PWNED)\n",
	`back\slash\`,
	"${X:-$(touch PWNED)}",
	"!! !$ \\$HOME $HOME",
	"ünïcødé ☃ 日本語",
	"",
	"'",
	"\\'",
	"tab\there\r\n",
	"a\x00b", // NUL cannot live in a bash variable; it is dropped
}

// TestEnvFileHostile sources the environment file with bash and checks
// that every value arrives unchanged and that none of them ran code.
func TestEnvFileHostile(t *testing.T) {
	bash := testenv.NeedTool(t, "", "bash", "bash")
	dir := t.TempDir()
	var m manifest.Manifest
	var extra []manifest.EnvVar
	var names []string
	for i, v := range hostile {
		name := "V" + string(rune('A'+i))
		names = append(names, name)
		extra = append(extra, manifest.EnvVar{Name: name, Value: v})
	}
	m.Environment = []manifest.EnvVar{{Name: "ARR", IsList: true, List: hostile}}
	envPath := filepath.Join(dir, "env")
	if err := os.WriteFile(envPath, []byte(m.EnvFile(extra...)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Print each scalar, then each array element, NUL-terminated. The
	// scalars are exported, so a child process must see them too.
	script := `. ./env || exit 1
for n in ` + strings.Join(names, " ") + `; do bash -c 'printf "%s\0" "${!1}"' - "$n"; done
printf '%s\0' "${ARR[@]}"
`
	cmd := exec.Command(bash, "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "PWNED")); err == nil {
		t.Fatal("a value ran code")
	}
	want := make([]string, len(hostile))
	for i, v := range hostile {
		want[i] = strings.ReplaceAll(v, "\x00", "")
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if !reflect.DeepEqual(got, append(want, want...)) {
		t.Errorf("values after sourcing:\n got %q\nwant %q", got, append(want, want...))
	}
}
