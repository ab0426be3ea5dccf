package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"builds/internal/config"
	"builds/internal/vm"
)

func imageCommand() *command {
	return &command{
		name:    "image",
		usage:   "build DISTRO/RELEASE | check DISTRO/RELEASE | list",
		summary: "build, test and list the VM images runners boot",
		flags: func(fs *flag.FlagSet) {
			addConfigFlags(fs)
			fs.String("images", "", "images directory (default: [builds.sr.ht::worker] images, else the checkout's images/)")
			fs.String("arch", "amd64", "architecture of the image")
			fs.Bool("force", false, "build: rebuild even when the cached image is fresh")
			fs.String("means", vm.MeansQemu, "check: boot means, qemu or docker")
		},
		run: runImage,
	}
}

func runImage(ctx context.Context, fs *flag.FlagSet, args []string) error {
	args, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return usageErrorf("missing subcommand: build, check or list")
	}
	dir, err := imagesDir(fs)
	if err != nil {
		return err
	}
	arch := flagString(fs, "arch")
	switch {
	case args[0] == "list" && len(args) == 1:
		return listImages(dir)
	case args[0] == "build" && len(args) == 2:
		return buildImage(ctx, dir, args[1], arch, flagString(fs, "force") == "true")
	case args[0] == "check" && len(args) == 2:
		return checkImage(ctx, dir, args[1], arch, flagString(fs, "means"))
	}
	return usageErrorf("expected 'image build IMAGE', 'image check IMAGE' or 'image list'")
}

// imagesDir is --images, else the configured worker images directory.
func imagesDir(fs *flag.FlagSet) (string, error) {
	if d := flagString(fs, "images"); d != "" {
		return filepath.Abs(d)
	}
	c, err := loadConfig(fs)
	if err != nil {
		return "", err
	}
	return filepath.Abs(c.Worker.Images)
}

func listImages(dir string) error {
	imgs, err := vm.Images(dir)
	if err != nil {
		return err
	}
	if len(imgs) == 0 {
		fmt.Printf("no images installed in %s; build one with 'builds image build debian/bookworm'\n", dir)
		return nil
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "IMAGE\tARCH\tSIZE\tAGE")
	for _, im := range imgs {
		name := im.Name
		if im.AliasOf != "" {
			name += " -> " + im.AliasOf
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", name, im.Arch, humanSize(im.Size), humanAge(time.Since(im.ModTime)))
	}
	return w.Flush()
}

// buildImage runs the distro's genimg (a no-op when the cache is fresh) and
// installs the cached result into dir.
func buildImage(ctx context.Context, dir, image, arch string, force bool) error {
	src, err := scriptsDir(dir, image)
	if err != nil {
		return err
	}
	distro, release, err := resolveImage(src, image)
	if err != nil {
		return err
	}
	genimg := filepath.Join(src, distro, "genimg")
	args := []string{release, arch}
	if force {
		args = append([]string{"-f"}, args...)
	}
	fmt.Printf("building %s/%s for %s (this takes minutes when the cache is stale)\n", distro, release, arch)
	cmd := exec.CommandContext(ctx, genimg, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build image %s/%s: %w", distro, release, err)
	}
	out, err := exec.CommandContext(ctx, genimg, "-k", release, arch).Output()
	if err != nil {
		return fmt.Errorf("find cached image: %w", err)
	}
	fields := strings.Fields(string(out))
	if len(fields) != 2 {
		return fmt.Errorf("find cached image: unexpected genimg -k output %q", out)
	}
	if src != dir {
		if err := copyScripts(src, dir, distro, release); err != nil {
			return err
		}
	}
	to := filepath.Join(dir, distro, release, arch)
	changed, err := vm.InstallImage(fields[1], to)
	if err != nil {
		return err
	}
	if changed {
		fmt.Printf("installed %s\n", to)
	} else {
		fmt.Printf("%s is up to date\n", to)
	}
	return nil
}

// resolveImage splits DISTRO/RELEASE, following a release alias link.
func resolveImage(src, image string) (distro, release string, err error) {
	distro, release, ok := strings.Cut(image, "/")
	if !ok || distro == "" || release == "" || strings.Contains(release, "/") {
		return "", "", usageErrorf("image %q: want DISTRO/RELEASE, like debian/bookworm", image)
	}
	if _, err := os.Stat(filepath.Join(src, distro, "genimg")); err != nil {
		return "", "", fmt.Errorf("no image recipe for %s: %s/%s/genimg is missing", distro, src, distro)
	}
	if target, err := os.Readlink(filepath.Join(src, distro, release)); err == nil {
		release = filepath.Base(target)
	}
	return distro, release, nil
}

// scriptsDir is the directory holding the image recipes: dir itself, or
// the source checkout when dir is an installed images directory.
func scriptsDir(dir, image string) (string, error) {
	distro, _, _ := strings.Cut(image, "/")
	for _, d := range []string{dir, config.DefaultImagesDir()} {
		if _, err := os.Stat(filepath.Join(d, distro, "genimg")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no recipe to build %s: neither %s nor a source checkout has %s/genimg", image, dir, distro)
}

func checkImage(ctx context.Context, dir, image, arch, means string) error {
	control := filepath.Join(dir, "control")
	// A marker on every host address: the guest must reach none of them.
	marker, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		return fmt.Errorf("check image %s: start the host marker: %w", image, err)
	}
	defer marker.Close()
	go serveMarker(marker)
	cmd := exec.CommandContext(ctx, control, image, "sanity-check")
	cmd.Env = append(os.Environ(), "BUILDS_IMAGES="+dir, "BUILDS_ARCH="+arch, "BUILDS_MEANS="+means,
		"BUILDS_MARKER_PORT="+strconv.Itoa(marker.Addr().(*net.TCPAddr).Port))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	var exit *exec.ExitError
	if err := cmd.Run(); errors.As(err, &exit) {
		return exitError(1)
	} else if err != nil {
		return fmt.Errorf("check image %s: %w", image, err)
	}
	return nil
}

// serveMarker answers every connection on ln with a line, until ln closes.
func serveMarker(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = c.Write([]byte("builds host marker\n"))
		c.Close()
	}
}

func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func humanAge(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// copyScripts installs the control script and the distro's recipe into an
// images directory outside the checkout, so it works on its own.
func copyScripts(src, dst, distro, release string) error {
	files := []string{"control", "control-lib", "control-contain", "qemu/build",
		distro + "/functions", distro + "/genimg", distro + "/build.yml"}
	for _, f := range files {
		if err := copyExecutable(filepath.Join(src, f), filepath.Join(dst, f)); err != nil {
			return fmt.Errorf("install image scripts: %w", err)
		}
	}
	return copyLinks(filepath.Join(src, distro), filepath.Join(dst, distro), release)
}

// copyLinks recreates release/functions and the alias links of a distro.
func copyLinks(src, dst, release string) error {
	if err := os.MkdirAll(filepath.Join(dst, release), 0o755); err != nil {
		return err
	}
	_ = os.Symlink("../functions", filepath.Join(dst, release, "functions"))
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		if target, err := os.Readlink(filepath.Join(src, e.Name())); err == nil {
			_ = os.Symlink(target, filepath.Join(dst, e.Name()))
		}
	}
	return nil
}

func copyExecutable(src, dst string) error {
	data, err := os.ReadFile(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, data, fi.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
