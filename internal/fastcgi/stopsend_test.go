package fastcgi

import (
	"net"
	"testing"
	"time"
)

// TestPumpStopSurvivesRearm checks that pumpStop's stop of a streaming
// body's pump stays in force when the pump re-arms fastcgi_send_timeout for
// its next piece right after: the pump below writes, sees the stop, re-arms
// its deadline (as sendStream does before each flush) and writes again. That
// second write must fail at once too; before, the re-armed deadline lifted
// the stop and the write waited for the whole send timeout while pumpStop
// waited for it.
func TestPumpStopSurvivesRearm(t *testing.T) {
	c, peer := net.Pipe() // nobody reads peer: every write blocks
	defer c.Close()
	defer peer.Close()
	x := &exchange{conn: c, pump: make(chan error, 1), cw: &countWriter{}}
	h := &Handler{}
	go func() {
		x.setWriteDeadline(time.Now().Add(time.Hour))
		if _, err := c.Write([]byte("piece 1")); err == nil {
			x.pump <- nil
			return
		}
		x.setWriteDeadline(time.Now().Add(time.Hour)) // the next piece
		_, err := c.Write([]byte("piece 2"))
		x.pump <- err
	}()
	done := make(chan error, 1)
	go func() {
		_, err := h.pumpStop(&request{}, x)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the second write succeeded, want it to fail")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pumpStop still waits: the pump's re-armed deadline undid the stop")
	}
}
