package htpasswd

import (
	"io/fs"
	"os"
	"sync"
	"time"
)

// maxCached bounds a Cache: a user file named with variables could otherwise
// make it grow without end. Past the bound the cache starts over.
const maxCached = 1024

// Cache keeps parsed user files by path. nginx reads the file on every
// request, so an edited file takes effect without a reload; Cache gives the
// same answers with one stat per request, parsing a file again only when its
// modification time or size changed. The zero Cache is ready; it is safe for
// concurrent use.
type Cache struct {
	mu    sync.Mutex // guards files
	files map[string]*cachedFile
}

// cachedFile is a parsed file and the stat it was read under.
type cachedFile struct {
	mod  time.Time
	size int64
	file *File
}

// Load returns the parsed file at path. Its errors are *fs.PathError whose
// Op is "open" (the file cannot be found or opened: nginx's open() failure)
// or "read".
func (c *Cache) Load(path string) (*File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: underlying(err)}
	}
	c.mu.Lock()
	e := c.files[path]
	c.mu.Unlock()
	if e != nil && e.mod.Equal(fi.ModTime()) && e.size == fi.Size() {
		return e.file, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if pe, ok := err.(*fs.PathError); ok && pe.Op == "open" {
			return nil, pe
		}
		return nil, &fs.PathError{Op: "read", Path: path, Err: underlying(err)}
	}
	e = &cachedFile{mod: fi.ModTime(), size: fi.Size(), file: Parse(data)}
	c.mu.Lock()
	if c.files == nil || len(c.files) >= maxCached {
		c.files = map[string]*cachedFile{}
	}
	c.files[path] = e
	c.mu.Unlock()
	return e.file, nil
}

// underlying is the error inside a *fs.PathError, or err.
func underlying(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
