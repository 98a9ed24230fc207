//go:build unix

package cache

import (
	"io/fs"
	"os"
	"syscall"
)

// fsBlockSize is the block size of the file system dir is on, in which
// nginx counts a cache's size (ngx_fs_bsize: statfs's f_bsize); 512 when
// it cannot be read, is not a multiple of 512 or is over a memory page.
func fsBlockSize(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil || st.Bsize <= 0 || st.Bsize%512 != 0 || int64(st.Bsize) > int64(os.Getpagesize()) {
		return 512
	}
	return int64(st.Bsize)
}

// fsAvailable is the free space of the file system dir is on for an
// unprivileged process, as min_free compares it (ngx_fs_available:
// f_bavail * f_bsize); -1 when it cannot be read.
func fsAvailable(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// diskSize is the space a file takes (ngx_file_fs_size: its length or its
// allocated blocks, whichever is more).
func diskSize(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return max(info.Size(), int64(st.Blocks)*512)
	}
	return info.Size()
}
