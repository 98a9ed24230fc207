//go:build !unix

package cache

import "io/fs"

// fsBlockSize cannot read the file system here: sizes count 512-byte blocks.
func fsBlockSize(string) int64 { return 512 }

// fsAvailable cannot read the file system here: min_free is not checked.
func fsAvailable(string) int64 { return -1 }

// diskSize is the length of a file.
func diskSize(info fs.FileInfo) int64 { return info.Size() }
