package main

import (
	"fmt"
	"io"
)

// runDemo runs `fulcrum demo ARGS...` and returns the exit code. It is filled in by
// the upstream work; until then it says so.
func runDemo(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "fulcrum: demo is not implemented yet")
	return 1
}
