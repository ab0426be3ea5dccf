package runner

import (
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/crypto/ssh"

	"builds/internal/vm"
)

// ControlBooter boots VMs through the images' control script, each on a
// free loopback port. Its VMs also add repositories and install packages
// with the control script (see PackageManager).
type ControlBooter struct {
	Control *vm.Control
}

var (
	_ VMBooter       = ControlBooter{}
	_ VM             = (*vm.VM)(nil)
	_ PackageManager = (*vm.VM)(nil)
)

// Boot boots image for arch on a free port. A port taken between choosing
// it and qemu binding it is no fault of the job: another is tried.
func (b ControlBooter) Boot(ctx context.Context, image, arch string) (VM, error) {
	for attempt := 1; ; attempt++ {
		port, err := vm.FreePort()
		if err != nil {
			return nil, err
		}
		v, err := b.Control.Boot(ctx, image, arch, port)
		if errors.Is(err, vm.ErrPortBusy) && attempt < 5 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return v, nil
	}
}

// LoadSigner reads the runner's private SSH key (see vm.KeyPair).
func LoadSigner(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read runner key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("parse runner key %s: %w", path, err)
	}
	return s, nil
}
