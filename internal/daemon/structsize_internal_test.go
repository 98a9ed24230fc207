package daemon

import (
	"testing"
	"unsafe"
)

// TestPerConnectionStructsStaySmall guards the structures every busy
// client connection holds (bench/README.md, "Memory under load"): the
// connection (clientConn, which a parked idle connection keeps alone), its
// request structures (connScratch, which a parked one lets go) and its
// pooled per-request scratch. Go allocates each in the smallest size class
// that fits, so a few bytes more can cost hundreds: clientConn at 897 bytes
// would take a 1,024-byte slot, connScratch at 1,537 a 1,792-byte one,
// requestScratch at 2,049 a 2,304-byte one. Fields that grow them belong in
// the request's scratch, behind a pointer, or beside other small fields that
// fill the struct's padding.
func TestPerConnectionStructsStaySmall(t *testing.T) {
	tests := []struct {
		name      string
		size, max uintptr
	}{
		{"clientConn", unsafe.Sizeof(clientConn{}), 896},
		{"connScratch", unsafe.Sizeof(connScratch{}), 1536},
		{"requestScratch", unsafe.Sizeof(requestScratch{}), 2048},
	}
	for _, tt := range tests {
		if tt.size > tt.max {
			t.Errorf("%s is %d bytes, more than its %d-byte size class", tt.name, tt.size, tt.max)
		}
	}
}
