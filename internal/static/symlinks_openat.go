//go:build linux || freebsd

package static

import (
	"os"
	"strings"
	"syscall"
)

// openNoFollow opens path component by component below its first skip bytes
// (opened as they are, links followed), as ngx_open_file_wrapper does.
// Without owner, a symbolic link fails: ENOTDIR on the way (O_DIRECTORY with
// O_NOFOLLOW), ELOOP at the end. With owner, links are followed, and one whose
// owner differs from its target's fails with ELOOP.
func openNoFollow(path string, skip int, owner bool) (*os.File, error) {
	at, p, err := openStart(path, skip)
	if err != nil {
		return nil, err
	}
	for {
		i := strings.IndexByte(path[p:], '/')
		if i < 0 {
			break
		}
		if i == 0 {
			p++
			continue
		}
		fd, err := openAt(at, path[p:p+i], searchFlags, owner)
		syscall.Close(at)
		if err != nil {
			return nil, err
		}
		at, p = fd, p+i+1
	}
	defer syscall.Close(at)
	name, flags := path[p:], syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC
	var fd int
	if name == "" {
		// A trailing slash: the last component is a directory, already
		// checked; reopen it for reading (nginx opens ".").
		fd, err = openat(at, ".", flags, 0)
	} else {
		fd, err = openAt(at, name, flags, owner)
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// openStart opens the directory the walk starts from: the unchecked prefix
// path[:skip], else "/". It returns the index of the first checked component.
func openStart(path string, skip int) (fd, next int, err error) {
	start := "/"
	next = 1
	if skip > 0 {
		start, next = path[:skip], skip+1
	}
	fd, err = syscall.Open(start, searchFlags, 0)
	return fd, next, err
}

// openAt opens name in directory at: with O_NOFOLLOW, or, with owner, following
// a link only when the link's owner is its target's (ngx_openat_file_owner).
func openAt(at int, name string, flags int, owner bool) (int, error) {
	if !owner {
		return openat(at, name, flags|syscall.O_NOFOLLOW, 0)
	}
	fd, err := openat(at, name, flags, 0)
	if err != nil {
		return -1, err
	}
	if err := sameOwner(at, name, fd); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}
