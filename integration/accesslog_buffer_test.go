package integration

import (
	"path/filepath"
	"testing"
	"time"
)

func TestAccessLogBufferZeroWritesAtOnce(t *testing.T) {
	in := startFulcrum(t, `
events {}
http {
    log_format short '$request_uri $status';
    access_log %DIR%/access.log short buffer=0;
    server {
        listen 127.0.0.1:0;
        location / { return 200 "ok"; }
    }
}`, 1)
	path := filepath.Join(in.dir, "access.log")
	client := newClient()
	for _, uri := range []string{"/1", "/2", "/3"} {
		get(t, client, in.url(0)+uri)
		// Unbuffered: the line is written as the request ends, far sooner
		// than the 1 s flush of a buffered log.
		deadline := time.Now().Add(300 * time.Millisecond)
		for !fileContains(path, uri+" 200\n") {
			if time.Now().After(deadline) {
				t.Fatalf("access_log buffer=0: the line of %s was not written within 300ms (file: %q)", uri, readLines(path))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
