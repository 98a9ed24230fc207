package static

import (
	"syscall"
	"unsafe"
)

// searchFlags opens a directory on the way only to search it: nginx's
// NGX_FILE_SEARCH on FreeBSD is O_EXEC|O_DIRECTORY (no O_PATH there; O_EXEC
// on a directory asks for search permission only, as O_SEARCH).
const searchFlags = syscall.O_EXEC | syscall.O_DIRECTORY | syscall.O_CLOEXEC

// openat is openat(2), which package syscall does not export on FreeBSD:
// the system call itself, as package syscall makes its others there.
func openat(dirfd int, path string, flags int, mode uint32) (int, error) {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	fd, _, e := syscall.Syscall6(syscall.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags), uintptr(mode), 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// atSymlinkNoFollow is FreeBSD's AT_SYMLINK_NOFOLLOW (sys/fcntl.h), which
// package syscall does not name there.
const atSymlinkNoFollow = 0x200

// sameOwner fails with ELOOP when name in at (not followed: fstatat with
// AT_SYMLINK_NOFOLLOW) and the opened fd have different owners, as
// ngx_openat_file_owner compares them; for anything but a link they are the
// same file.
func sameOwner(at int, name string, fd int) error {
	var link, target syscall.Stat_t
	if err := syscall.Fstatat(at, name, &link, atSymlinkNoFollow); err != nil {
		return err
	}
	if err := syscall.Fstat(fd, &target); err != nil {
		return err
	}
	if link.Uid != target.Uid {
		return syscall.ELOOP
	}
	return nil
}
