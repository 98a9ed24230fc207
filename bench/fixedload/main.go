// Command fixedload sends exactly -n GET requests to a loopback proxy over -c
// keep-alive connections (each connection sends its share one after another)
// and checks that every answer is a 200 with its whole Content-Length body.
// bench/callgrind.sh uses it: a count of requests, not a duration, so that two
// runs of the same binary execute the same work.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/textproto"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"fulcrum/internal/testutil"
)

func main() {
	addr := flag.String("addr", "", "the proxy's loopback host:port")
	n := flag.Int("n", 1000, "requests in all")
	c := flag.Int("c", 1, "keep-alive connections")
	path := flag.String("path", "/small", "the path to request")
	browser := flag.Bool("browser", false, "send a browser's eleven header fields (testutil.BrowserHeaders) too")
	flag.Parse()
	if *addr == "" || *c < 1 || *n < *c {
		fmt.Fprintln(os.Stderr, "usage: fixedload -addr HOST:PORT [-n N] [-c C] [-path P] (N >= C >= 1)")
		os.Exit(2)
	}
	head := "GET " + *path + " HTTP/1.1\r\nHost: bench\r\n"
	if *browser {
		fields := testutil.BrowserHeaders()
		for _, name := range slices.Sorted(maps.Keys(fields)) {
			head += name + ": " + fields[name] + "\r\n"
		}
	} else {
		head += "User-Agent: fixedload\r\nAccept: */*\r\n"
	}
	if err := run(*addr, []byte(head+"\r\n"), *n, *c); err != nil {
		fmt.Fprintln(os.Stderr, "fixedload:", err)
		os.Exit(1)
	}
}

// run opens c connections and sends n requests over them, n/c each (the
// first n%c connections one more), each the request req.
func run(addr string, req []byte, n, c int) error {
	errs := make(chan error, c)
	var wg sync.WaitGroup
	for i := 0; i < c; i++ {
		count := n / c
		if i < n%c {
			count++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- session(addr, req, count)
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// session sends count requests over one connection, each after the answer to
// the one before, bounded by a minute in all.
func session(addr string, req []byte, count int) error {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	br := bufio.NewReader(conn)
	tp := textproto.NewReader(br)
	for i := 0; i < count; i++ {
		if _, err := conn.Write(req); err != nil {
			return fmt.Errorf("request %d: %w", i, err)
		}
		line, err := tp.ReadLine()
		if err != nil {
			return fmt.Errorf("request %d: status line: %w", i, err)
		}
		if !strings.HasPrefix(line, "HTTP/1.1 200 ") {
			return fmt.Errorf("request %d: status line %q", i, line)
		}
		h, err := tp.ReadMIMEHeader()
		if err != nil {
			return fmt.Errorf("request %d: header: %w", i, err)
		}
		length, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
		if err != nil {
			return fmt.Errorf("request %d: Content-Length %q", i, h.Get("Content-Length"))
		}
		if _, err := io.CopyN(io.Discard, br, length); err != nil {
			return fmt.Errorf("request %d: body: %w", i, err)
		}
	}
	return nil
}
