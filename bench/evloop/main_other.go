//go:build !linux

// Command evloop is bench/floor's proxy as one epoll event loop; it runs on
// Linux only (see main_linux.go).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "evloop: Linux only (epoll)")
	os.Exit(1)
}
