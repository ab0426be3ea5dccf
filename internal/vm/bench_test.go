package vm_test

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"builds/internal/testenv"
	"builds/internal/vm"
)

// BenchmarkColdBoot measures boot to SSH banner of the test image, with
// qemu started directly (the baseline) and inside docker, and reports the
// docker overhead as a ratio to the baseline measured in the same run:
//
//	go test -run '^$' -bench ColdBoot -benchtime 3x ./internal/vm
func BenchmarkColdBoot(b *testing.B) {
	images := requireVM(b)
	withDocker := exec.Command("docker", "image", "inspect", "qemu").Run() == nil
	switch {
	case !withDocker && testenv.Required(testenv.RequireVM):
		requireDocker(b) // starts dockerd and builds the image, or fails
		withDocker = true
	case !withDocker:
		b.Log("no docker engine or qemu image: measuring the qemu baseline only (BUILDS_REQUIRE_VM=1 makes this a failure)")
	}
	cq := newControl(b, images, vm.MeansQemu)
	cd := newControl(b, images, vm.MeansDocker)
	var qemuStart, qemuSSH, dockerStart, dockerSSH time.Duration
	for b.Loop() {
		s, r := coldBoot(b, cq)
		qemuStart += s
		qemuSSH += r
		if withDocker {
			s, r := coldBoot(b, cd)
			dockerStart += s
			dockerSSH += r
		}
	}
	n := float64(b.N)
	b.ReportMetric(qemuStart.Seconds()/n, "qemu-start-s")
	b.ReportMetric(qemuSSH.Seconds()/n, "qemu-ssh-s")
	if withDocker {
		b.ReportMetric(dockerStart.Seconds()/n, "docker-start-s")
		b.ReportMetric(dockerSSH.Seconds()/n, "docker-ssh-s")
		b.ReportMetric(dockerSSH.Seconds()/qemuSSH.Seconds(), "docker/qemu")
	}
}

// coldBoot boots one VM and returns how long Boot took and how long until
// the guest's SSH server answered, then removes the VM.
func coldBoot(b *testing.B, c *vm.Control) (start, ready time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	v, err := c.Boot(ctx, testImage, "amd64", freePort(b))
	if err != nil {
		b.Fatal(err)
	}
	defer v.Cleanup(context.Background())
	start = time.Since(t0)
	if err := v.WaitSSH(ctx); err != nil {
		b.Fatal(err)
	}
	return start, time.Since(t0)
}
