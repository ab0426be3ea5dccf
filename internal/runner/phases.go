package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"builds/internal/build"
	"builds/internal/guest"
	"builds/internal/manifest"
)

// step writes "what... " to the job log, runs fn and completes the line
// with the outcome and how long fn took.
func (j *job) step(what string, fn func() error) error {
	_, _ = io.WriteString(j.log, what+"... ")
	start := time.Now()
	err := fn()
	if err != nil {
		j.log.Printf("failed (%s)", fmtDur(time.Since(start)))
		return err
	}
	j.log.Printf("ok (%s)", fmtDur(time.Since(start)))
	return nil
}

func (j *job) boot(ctx context.Context) error {
	image, arch := or(j.item.Image, j.m.Image), or(j.item.Arch, j.m.Arch)
	what := "Booting " + image
	if arch != "" {
		what += " (" + arch + ")"
	}
	return j.step(what, func() error {
		v, err := j.r.VM.Boot(ctx, image, arch)
		if err != nil {
			return fmt.Errorf("boot %s: %w", image, err)
		}
		j.vm = v
		j.r.trace(j.id, EventBooted)
		return nil
	})
}

func (j *job) connect(ctx context.Context) error {
	timeout := orDur(j.r.SetupTimeout, 120*time.Second)
	err := j.step("Waiting for the guest's SSH server", func() error {
		c, err := guest.Dial(ctx, j.vm.Addr(), j.r.guestUser(), j.r.Signer, guest.DialOptions{Timeout: timeout})
		if err != nil {
			return fmt.Errorf("the guest did not answer SSH within %s: %w", timeout, err)
		}
		j.conn = c
		return nil
	})
	if err == nil {
		j.r.trace(j.id, EventConnected)
		j.log.Printf("Connected to guest %s as %s", j.vm.Addr(), j.r.guestUser())
	}
	return err
}

// guestUID is the build user's uid and gid in every image.
const guestUID = 1000

// userSetup unpacks the build user's files from standard input and
// installs the complete-build helper ("$1", just unpacked) at "$2" unless
// the image already has the same program there, so that a job on an image
// that ships the helper needs no sudo before its first task.
const userSetup = `set -e
tar -x -p --no-same-owner --no-overwrite-dir -C / -f -
cmp -s -- "$1" "$2" || sudo -n install -m 0755 -- "$1" "$2"`

// setup writes the environment, the task scripts, the complete-build helper
// and the secrets, in one round trip as the build user plus one as root
// for secret files outside the home, then imports PGP keys.
func (j *job) setup(ctx context.Context) error {
	j.logOAuth()
	dirs, files, rootFiles, err := j.setupFiles()
	if err != nil {
		return err
	}
	err = j.step("Writing the environment, tasks and secrets", func() error {
		archive, err := guest.Archive(dirs, files)
		if err != nil {
			return err
		}
		helper := j.r.guestHome() + "/.tasks/.complete-build"
		argv := []string{"sh", "-c", userSetup, "sh", helper, manifest.CompleteBuildPath}
		var stderr bytes.Buffer
		opts := &guest.RunOptions{Stdin: bytes.NewReader(archive), Stderr: &stderr}
		if err := j.conn.Run(ctx, argv, nil, opts); err != nil {
			return fmt.Errorf("writing files in the guest: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
		if len(rootFiles) == 0 {
			return nil
		}
		return j.conn.Upload(ctx, nil, rootFiles)
	})
	if err != nil {
		return err
	}
	return j.importPGP(ctx)
}

// setupFiles returns the directories and files to write in the build
// user's home, and the files elsewhere, which need root.
func (j *job) setupFiles() (dirs []guest.Dir, files, rootFiles []guest.File, err error) {
	home := j.r.guestHome()
	user := func(p string, mode os.FileMode, data []byte) guest.File {
		return guest.File{Path: p, Mode: mode, Data: data, UID: guestUID, GID: guestUID}
	}
	dirs = []guest.Dir{{Path: home + "/.tasks", Mode: 0o755, UID: guestUID, GID: guestUID}}
	files = []guest.File{
		user(home+"/"+manifest.EnvFileName, 0o600, []byte(j.m.EnvFile(j.extraEnv()...))),
		user(home+"/.tasks/.complete-build", 0o755, []byte(manifest.CompleteBuildScript)),
	}
	for _, t := range j.m.Tasks {
		files = append(files, user(home+"/.tasks/"+t.Name, 0o755, []byte(j.m.TaskScript(t))))
	}
	sd, sf, err := j.secretFiles()
	if err != nil {
		return nil, nil, nil, err
	}
	for _, f := range sf {
		if strings.HasPrefix(f.Path, home+"/") {
			files = append(files, f)
		} else {
			rootFiles = append(rootFiles, f)
		}
	}
	return append(dirs, sd...), files, rootFiles, nil
}

// extraEnv is what the runner exports on top of the manifest's environment.
func (j *job) extraEnv() []manifest.EnvVar {
	url := ""
	if j.r.JobURL != nil {
		url = j.r.JobURL(j.id)
	}
	env := []manifest.EnvVar{
		{Name: "CI_NAME", Value: or(j.r.CIName, "sourcehut")},
		{Name: "JOB_ID", Value: strconv.FormatInt(j.id, 10)},
		{Name: "JOB_URL", Value: url},
	}
	if j.work.OAuthToken != "" {
		env = append(env, manifest.EnvVar{Name: "OAUTH2_TOKEN", Value: j.work.OAuthToken})
	}
	return env
}

// secretFiles returns the SSH keys and secret files to write. The first
// SSH key is also ~/.ssh/id_rsa. Secret files belong to the build user
// wherever they are, with their parents inside the home created for it.
func (j *job) secretFiles() ([]guest.Dir, []guest.File, error) {
	home := j.r.guestHome()
	var dirs []guest.Dir
	var files []guest.File
	seen := map[string]bool{}
	addDirs := func(p string) {
		for d := path.Dir(p); strings.HasPrefix(d, home+"/") && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			mode := os.FileMode(0o755)
			if d == home+"/.ssh" {
				mode = 0o700
			}
			dirs = append(dirs, guest.Dir{Path: d, Mode: mode, UID: guestUID, GID: guestUID})
		}
	}
	add := func(p string, mode os.FileMode, data []byte) {
		addDirs(p)
		files = append(files, guest.File{Path: p, Mode: mode, Data: data, UID: guestUID, GID: guestUID})
	}
	firstKey := true
	for _, s := range j.work.Secrets {
		switch s.Kind {
		case build.SecretSSHKey:
			add(home+"/.ssh/"+s.UUID, 0o600, s.Data)
			if firstKey {
				add(home+"/.ssh/id_rsa", 0o600, s.Data)
				firstKey = false
			}
		case build.SecretFile:
			p, err := secretPath(home, s.Path)
			if err != nil {
				return nil, nil, err
			}
			add(p, os.FileMode(s.Mode).Perm(), s.Data)
		}
	}
	return dirs, files, nil
}

// secretPath resolves a secret file's stored path in the guest: "~" is the
// build user's home, and a relative path is relative to it.
func secretPath(home, p string) (string, error) {
	switch {
	case p == "" || p == "~" || p == "/":
		return "", fmt.Errorf("secret file path %q does not name a file", p)
	case strings.HasPrefix(p, "~/"):
		p = home + p[1:]
	case !strings.HasPrefix(p, "/"):
		p = home + "/" + p
	}
	return path.Clean(p), nil
}

// importPGP imports every PGP key secret into the build user's keyring.
func (j *job) importPGP(ctx context.Context) error {
	var keys bytes.Buffer
	n := 0
	for _, s := range j.work.Secrets {
		if s.Kind == build.SecretPGPKey {
			keys.Write(s.Data)
			keys.WriteByte('\n')
			n++
		}
	}
	if n == 0 {
		return nil
	}
	j.log.Printf("Importing %d PGP key(s)", n)
	return j.step("gpg --import", func() error {
		argv := []string{"gpg", "--batch", "--import"}
		return j.conn.Run(ctx, argv, j.log, &guest.RunOptions{Stdin: &keys})
	})
}

func (j *job) packageManager() (PackageManager, error) {
	pm, ok := j.vm.(PackageManager)
	if !ok {
		return nil, errors.New("this runner's VMs cannot install packages or add repositories")
	}
	return pm, nil
}

func (j *job) addRepositories(ctx context.Context) error {
	if len(j.m.Repositories) == 0 {
		return nil
	}
	pm, err := j.packageManager()
	if err != nil {
		return err
	}
	for _, repo := range j.m.Repositories {
		j.log.Printf("Adding repository %s: %s", repo.Name, repo.Source)
		start := time.Now()
		out, err := pm.AddRepo(ctx, repo.Name, repo.Source)
		j.output(out)
		if err != nil {
			return fmt.Errorf("adding repository %s failed", repo.Name)
		}
		j.log.Printf("Repository %s added (%s)", repo.Name, fmtDur(time.Since(start)))
	}
	return nil
}

func (j *job) installPackages(ctx context.Context) error {
	if len(j.m.Packages) == 0 {
		return nil
	}
	pm, err := j.packageManager()
	if err != nil {
		return err
	}
	j.log.Printf("Installing packages: %s", strings.Join(j.m.Packages, " "))
	start := time.Now()
	out, err := pm.Install(ctx, j.m.Packages...)
	j.output(out)
	if err != nil {
		return errors.New("installing packages failed")
	}
	j.log.Printf("Packages installed (%s)", fmtDur(time.Since(start)))
	return nil
}

// output copies a tool's captured output into the job log.
func (j *job) output(out string) {
	if out = strings.TrimRight(out, "\n"); out != "" {
		j.log.Printf("%s", out)
	}
}

// gitClone and hgClone clone "$1" into "$2" and check out "$3" if given.
const (
	gitClone = `set -e
git clone -- "$1" "$2"
cd -- "$2"
if [ -n "$3" ]; then git checkout -q "$3" --; fi
git submodule update --init --recursive`
	hgClone = `set -e
if [ -n "$3" ]; then hg clone -u "$3" -- "$1" "$2"; else hg clone -- "$1" "$2"; fi`
)

func (j *job) cloneSources(ctx context.Context) error {
	for _, s := range j.m.Sources {
		script := gitClone
		if s.SCM == "hg" {
			script = hgClone
		}
		what := "Cloning " + s.URL
		if s.Ref != "" {
			what += " (" + s.Ref + ")"
		}
		j.log.Printf("%s into ~/%s", what, s.Dir)
		start := time.Now()
		argv := []string{"sh", "-c", script, "sh", s.URL, s.Dir, s.Ref}
		if err := j.conn.Run(ctx, argv, j.log, nil); err != nil {
			return fmt.Errorf("cloning %s failed: %w", s.URL, err)
		}
		j.log.Printf("Cloned %s (%s)", s.URL, fmtDur(time.Since(start)))
	}
	return nil
}

func (j *job) runTasks(ctx context.Context) error {
	for i, t := range j.m.Tasks {
		if i == 0 {
			j.r.trace(j.id, EventTaskStart)
		}
		if err := j.runTask(ctx, i); err != nil {
			return err
		}
		if i == len(j.m.Tasks)-1 {
			break
		}
		done, err := j.completed(ctx)
		if err != nil {
			return err
		}
		if done {
			j.log.Printf("Task %s called complete-build: skipping the remaining tasks", t.Name)
			for k := i + 1; k < len(j.m.Tasks); k++ {
				j.setTask(ctx, k, build.TaskSkipped)
			}
			j.complete = true
			return nil
		}
	}
	return nil
}

func (j *job) runTask(ctx context.Context, i int) error {
	t := j.m.Tasks[i]
	j.setTask(ctx, i, build.TaskRunning)
	w, err := j.logs.Task(t.Name)
	if err != nil {
		j.setTask(ctx, i, build.TaskFailed)
		return err
	}
	j.log.Printf("Running task %s", t.Name)
	start := time.Now()
	err = j.conn.RunPTY(ctx, []string{"bash", j.r.guestHome() + "/.tasks/" + t.Name}, w, nil)
	if cerr := w.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		j.setTask(ctx, i, build.TaskFailed)
		j.log.Printf("Task %s failed after %s: %s", t.Name, fmtDur(time.Since(start)), err)
		return fmt.Errorf("task %s failed", t.Name)
	}
	j.setTask(ctx, i, build.TaskSuccess)
	j.log.Printf("Task %s succeeded (%s)", t.Name, fmtDur(time.Since(start)))
	return nil
}

// completed reports whether a task called complete-build.
func (j *job) completed(ctx context.Context) (bool, error) {
	marker := j.r.guestHome() + "/" + manifest.CompleteMarker
	err := j.conn.Run(ctx, []string{"test", "-e", marker}, nil, nil)
	var ee *guest.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ee) && ee.Code == 1:
		return false, nil
	}
	return false, fmt.Errorf("checking for complete-build: %w", err)
}
