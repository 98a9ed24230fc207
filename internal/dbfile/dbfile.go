// Package dbfile reads a lookup database (the geoip module's .dat files,
// the geoip2 module's .mmdb files) whole into memory, as nginx's libraries
// do, after checking that the path is a regular file of bounded size: a
// special file could block the read (a FIFO) or fill memory (/dev/zero).
package dbfile

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// Read reads the whole file at path after checking that it is a regular
// file (once symbolic links are followed) of at most max bytes. It opens
// without waiting (O_NONBLOCK: a FIFO would wait for a writer) and checks
// the file it opened. A path that is not a regular file is an error
// wrapping notRegular and naming its kind ("a FIFO"); a larger file, one
// wrapping tooLarge with its size.
func Read(path string, max int64, notRegular, tooLarge error) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", path, notRegular, kind(fi.Mode()))
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes, %w", path, fi.Size(), tooLarge)
	}
	buf := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return buf, nil
}

// kind names the type of a file that is not a regular one.
func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}
