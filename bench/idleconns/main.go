// Command idleconns opens keep-alive connections to a proxy, sends one
// request on each, reads the answer and leaves the connection idle, as
// browsers leave theirs: bench/idle.sh measures what the proxy holds for
// them. It prints "open N" once all are open, then holds them until -hold
// passes or it is killed. Loopback only.
//
//	idleconns -addr 127.0.0.1:PORT -n 8000 -hold 200s
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "", "proxy address (loopback)")
	n := flag.Int("n", 1000, "connections to open")
	path := flag.String("path", "/small", "path to request on each")
	hold := flag.Duration("hold", time.Minute, "how long to keep them open")
	flag.Parse()
	if !strings.HasPrefix(*addr, "127.") {
		log.Fatal("idleconns: -addr must be a loopback address")
	}
	conns := make([]net.Conn, 0, *n)
	for i := range *n {
		c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
		if err != nil {
			log.Fatalf("idleconns: connection %d: %v", i, err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: bench\r\n\r\n", *path)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			log.Fatalf("idleconns: connection %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Close {
			log.Fatalf("idleconns: connection %d: the proxy closed it after its answer", i)
		}
		_ = c.SetDeadline(time.Time{})
		conns = append(conns, c)
	}
	fmt.Printf("open %d\n", len(conns))
	time.Sleep(*hold)
	for _, c := range conns {
		c.Close()
	}
}
