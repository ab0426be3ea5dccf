package vm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"
)

// ImageFile is the root disk every installed image has.
const ImageFile = "root.img.qcow2"

// ImageInfo describes one installed image for one arch.
type ImageInfo struct {
	Name    string    // "debian/bookworm", or the alias "debian/oldstable"
	Arch    string    // "amd64"
	Size    int64     // bytes on disk of the files in the arch directory
	ModTime time.Time // when the root disk was built
	// AliasOf is the image an alias points at ("debian/bookworm"), or "".
	AliasOf string
}

// Images lists the images installed in dir (dir/<distro>/<release>/<arch>/
// root.img.qcow2), aliases included, sorted by name and arch. A release
// whose disk is not built is left out. A missing dir has no images.
func Images(dir string) ([]ImageInfo, error) {
	distros, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var out []ImageInfo
	for _, d := range distros {
		if !d.IsDir() {
			continue
		}
		infos, err := distroImages(dir, d.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, infos...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Arch < out[j].Arch
	})
	return out, nil
}

func distroImages(dir, distro string) ([]ImageInfo, error) {
	releases, err := os.ReadDir(filepath.Join(dir, distro))
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var out []ImageInfo
	for _, r := range releases {
		rdir := filepath.Join(dir, distro, r.Name())
		alias := ""
		if r.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(rdir)
			if err != nil {
				return nil, fmt.Errorf("list images: %w", err)
			}
			alias = path.Join(distro, filepath.ToSlash(target))
		}
		arches, err := os.ReadDir(rdir)
		if err != nil {
			continue // not a directory, or a dangling alias
		}
		for _, a := range arches {
			info, ok := archImage(filepath.Join(rdir, a.Name()))
			if !ok {
				continue
			}
			info.Name, info.Arch, info.AliasOf = distro+"/"+r.Name(), a.Name(), alias
			out = append(out, info)
		}
	}
	return out, nil
}

// archImage describes the arch directory adir if it holds a root disk.
func archImage(adir string) (ImageInfo, bool) {
	disk, err := os.Stat(filepath.Join(adir, ImageFile))
	if err != nil || !disk.Mode().IsRegular() {
		return ImageInfo{}, false
	}
	info := ImageInfo{ModTime: disk.ModTime()}
	files, _ := os.ReadDir(adir)
	for _, f := range files {
		if fi, err := f.Info(); err == nil && fi.Mode().IsRegular() {
			info.Size += fi.Size()
		}
	}
	return info, true
}
