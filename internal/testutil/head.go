package testutil

import (
	"fmt"
	"strings"
)

// SizedHead builds a GET request head of exact sizes, for tests of header
// buffer limits: lead empty lines, a request line of rl bytes, "Host: x",
// then field lines ... of the given sizes (CRLF included).
func SizedHead(lead, rl int, fields ...int) string {
	var b strings.Builder
	b.WriteString(strings.Repeat("\r\n", lead))
	b.WriteString("GET /" + strings.Repeat("a", rl-len("GET / HTTP/1.1\r\n")) + " HTTP/1.1\r\n")
	b.WriteString("Host: x\r\n")
	for i, n := range fields {
		name := fmt.Sprintf("X-%d: ", i)
		b.WriteString(name + strings.Repeat("b", n-len(name)-2) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}
