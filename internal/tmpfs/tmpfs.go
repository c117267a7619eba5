// Package tmpfs gives tests a small filesystem of their own to fill up: a
// tmpfs mounted inside the test's temporary directory (Linux, as root or
// with CAP_SYS_ADMIN; the tests run so here and in CI), and a file that
// takes every byte left on it.
package tmpfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of size bytes on a new directory inside
// tb.TempDir(), unmounted when tb ends, and returns the directory. Where
// mounting is not permitted the test is skipped, saying so loudly.
func Mount(tb testing.TB, size int64) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV,
		fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		tb.Skipf("SKIPPED: cannot mount a tmpfs to fill up (%v): run as root, as the tests do in CI, to test a full disk", err)
	}
	tb.Cleanup(func() {
		// Lazily: a process of the test (hookd) may still hold a file.
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			tb.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// Fill writes dir/filler until the filesystem is full (ENOSPC) and
// returns its path: remove it to give the space back.
func Fill(tb testing.TB, dir string) string {
	tb.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		tb.Fatalf("fill %s: %v", dir, err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for n := len(buf); n > 0; {
		if _, err := f.Write(buf[:n]); errors.Is(err, syscall.ENOSPC) {
			n /= 2 // the last pages, as small as they come
		} else if err != nil {
			tb.Fatalf("fill %s: %v", dir, err)
		}
	}
	return path
}

// Free returns how many bytes are free on the filesystem of dir.
func Free(tb testing.TB, dir string) int64 {
	tb.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		tb.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}
