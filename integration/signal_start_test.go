package integration

import (
	"syscall"
	"testing"
	"time"
)

func TestSignalRightAfterStart(t *testing.T) {
	for i := range 10 {
		in := startFulcrum(t, `
events {}
http {
    server {
        listen 127.0.0.1:0;
        location / { return 200 "x"; }
    }
}`, 1)
		in.signal(syscall.SIGHUP)
		deadline := time.Now().Add(2 * time.Second)
		for !in.logged("reconfiguring: done") {
			select {
			case <-in.exited:
				t.Fatalf("run %d: SIGHUP right after start killed fulcrum: %v", i, in.cmd.ProcessState)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %d: SIGHUP right after start was not handled", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
