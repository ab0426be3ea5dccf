package runner_test

import (
	"os"
	"path/filepath"
	"testing"

	"builds/internal/build"
)

// TestVMArtifactSymlinkIsRefused makes, in a real guest, an artifact that
// is a symbolic link to /dev/zero: the runner must refuse it at once
// instead of streaming zeros until the job times out, after keeping the
// regular artifact before it.
func TestVMArtifactSymlinkIsRefused(t *testing.T) {
	t.Parallel()
	e, vb, c := newVMEnv(t)
	e.r.MaxArtifactBytes, e.r.MaxArtifactsBytes = 1<<20, 1<<20
	e.start()
	e.submit(120, `image: debian/bookworm
tasks:
  - make: |
      echo regular > good.txt
      ln -s /dev/zero zero
artifacts:
  - good.txt
  - zero
`)
	if s := e.wait(120, vmWait); s != build.JobFailed {
		t.Fatalf("job ended %s; log:\n%s", s, e.log(120, ""))
	}
	e.checkLog(120, "", "Uploading artifact good.txt... ok",
		"uploading artifact zero failed: it is a symbolic link (artifacts must be regular files)")
	checkHostFile(t, filepath.Join(e.r.ArtifactsDir, "120", "good.txt"), []byte("regular\n"))
	if _, err := os.Lstat(filepath.Join(e.r.ArtifactsDir, "120", "zero")); err == nil {
		t.Error("the refused artifact was kept")
	}
	e.checkClean()
	checkVMsGone(t, vb, c)
}
