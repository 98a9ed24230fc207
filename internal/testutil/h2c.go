package testutil

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// H2CBackend serves h on an ephemeral loopback port over HTTP/2 without
// TLS (prior knowledge, as nginx's and fulcrum's grpc_pass speak it) and
// returns the address; the server closes when the test ends.
func H2CBackend(t testing.TB, h http.Handler) string {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Config.Protocols = new(http.Protocols)
	s.Config.Protocols.SetUnencryptedHTTP2(true)
	s.Start()
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}
