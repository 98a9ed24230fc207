package static

import "syscall"

// oPath is Linux's O_PATH (the same value on every architecture Go
// supports but alpha/parisc/sparc), which package syscall does not name.
const oPath = 0x200000

// searchFlags opens a directory on the way only to search it (nginx's
// NGX_FILE_SEARCH on Linux).
const searchFlags = oPath | syscall.O_DIRECTORY | syscall.O_CLOEXEC

// openat is openat(2), which package syscall has on Linux.
func openat(dirfd int, path string, flags int, mode uint32) (int, error) {
	return syscall.Openat(dirfd, path, flags, mode)
}

// sameOwner fails with ELOOP when name in at (not followed) and the opened fd
// have different owners; for anything but a link they are the same file.
func sameOwner(at int, name string, fd int) error {
	lfd, err := openat(at, name, oPath|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(lfd)
	var link, target syscall.Stat_t
	if err := syscall.Fstat(lfd, &link); err != nil {
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
