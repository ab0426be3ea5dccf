package main

import (
	"context"
	"path/filepath"

	"builds/internal/config"
	"builds/internal/datalock"
	"builds/internal/vm"
)

// lockDataDir locks cfg's data directory for this process (what names it
// in the message a second process gets) and returns the release function.
func lockDataDir(cfg *config.Config, what string) (func(), error) {
	l, err := datalock.Acquire(cfg.DataDir, what)
	if err != nil {
		return nil, err
	}
	return func() { l.Release() }, nil
}

// vmControl is the VM control of cfg's runner, with key as the key guests
// accept. It first removes the VMs a previous process on the same data
// directory left behind (a crash, a kill -9).
func vmControl(ctx context.Context, cfg *config.Config, key string) (*vm.Control, error) {
	ctl := &vm.Control{Cmd: cfg.Worker.ControlCmd, ImagesDir: cfg.Worker.Images, Means: cfg.Worker.Means,
		SSHKey: key, CPUs: cfg.Worker.CPUs, MemoryMiB: cfg.Worker.MemoryMiB,
		StateDir:   filepath.Join(cfg.DataDir, "vms"),
		GuestNet:   cfg.Worker.GuestNetwork,
		GuestAllow: cfg.Worker.GuestAllow,
		QemuUser:   cfg.Worker.QemuUser,
	}
	if err := ctl.Recover(ctx); err != nil {
		return nil, err
	}
	return ctl, nil
}
