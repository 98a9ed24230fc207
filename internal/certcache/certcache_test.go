package certcache

import (
	"crypto/tls"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"fulcrum/internal/testutil"
	"fulcrum/internal/upstreamtls"
)

// counting wraps upstreamtls.LoadCertificate and counts the loads, each of
// which reads both files.
func counting(n *atomic.Int32) LoadFunc {
	return func(cert, key string, pw [][]byte) (*tls.Certificate, error) {
		n.Add(1)
		return upstreamtls.LoadCertificate(cert, key, "/", pw)
	}
}

func cn(t *testing.T, c *tls.Certificate) string {
	t.Helper()
	if c == nil || c.Leaf == nil {
		t.Fatalf("no certificate: %v", c)
	}
	return c.Leaf.Subject.CommonName
}

// TestGetReadsOnce checks that a certificate is read once, then served from
// the cache while its files are unchanged, for each name apart.
func TestGetReadsOnce(t *testing.T) {
	dir := t.TempDir()
	a, ak := testutil.WriteCert(t, dir, "a", testutil.ECDSA, "a.example")
	b, bk := testutil.WriteCert(t, dir, "b", testutil.ECDSA, "b.example")
	var loads atomic.Int32
	c := New(0, counting(&loads))
	for range 3 {
		for _, f := range [][2]string{{a, ak}, {b, bk}} {
			if _, err := c.Get(f[0], f[1], nil, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := loads.Load(); got != 2 {
		t.Errorf("loads = %d, want 2 (one per certificate)", got)
	}
	if c.Len() != 2 {
		t.Errorf("Len = %d, want 2", c.Len())
	}
}

// TestGetChangedFile checks that a file replaced (a renewal) or removed is
// seen by the next Get, as nginx 1.22.1 reads the files at every
// handshake, and that a failed load is not kept.
func TestGetChangedFile(t *testing.T) {
	dir := t.TempDir()
	cert, key := testutil.WriteCert(t, dir, "site", testutil.ECDSA, "old.example")
	var loads atomic.Int32
	c := New(0, counting(&loads))
	got, err := c.Get(cert, key, nil, "")
	if err != nil || cn(t, got) != "old.example" {
		t.Fatalf("first: %v %v", got, err)
	}
	// A renewal writes new files and renames them over the old ones.
	tmp := t.TempDir()
	nc, nk := testutil.WriteCert(t, tmp, "new", testutil.ECDSA, "new.example")
	for _, mv := range [][2]string{{nc, cert}, {nk, key}} {
		if err := os.Rename(mv[0], mv[1]); err != nil {
			t.Fatal(err)
		}
	}
	got, err = c.Get(cert, key, nil, "")
	if err != nil || cn(t, got) != "new.example" {
		t.Fatalf("after the renewal: %v %v", got, err)
	}
	if err := os.Remove(cert); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(cert, key, nil, ""); err == nil || !strings.Contains(err.Error(), `cannot load certificate "`+cert+`": BIO_new_file() failed`) {
		t.Fatalf("after the removal: %v", err)
	}
	if c.Len() != 0 {
		t.Errorf("Len = %d after a failed load, want 0", c.Len())
	}
	if got := loads.Load(); got != 3 {
		t.Errorf("loads = %d, want 3", got)
	}
}

// TestGetBounded checks that the least recently used certificate goes
// when the cache is full.
func TestGetBounded(t *testing.T) {
	dir := t.TempDir()
	var files [3][2]string
	for i, n := range []string{"a", "b", "c"} {
		files[i][0], files[i][1] = testutil.WriteCert(t, dir, n, testutil.ECDSA, n+".example")
	}
	var loads atomic.Int32
	c := New(2, counting(&loads))
	get := func(i int) {
		t.Helper()
		if _, err := c.Get(files[i][0], files[i][1], nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	get(0)
	get(1)
	get(0) // a is the most recent
	get(2) // b goes
	if n := loads.Load(); n != 3 {
		t.Fatalf("loads = %d, want 3", n)
	}
	get(0)
	if n := loads.Load(); n != 3 {
		t.Errorf("a was evicted: loads = %d", n)
	}
	get(1)
	if n := loads.Load(); n != 4 {
		t.Errorf("b was kept: loads = %d", n)
	}
	if c.Len() != 2 {
		t.Errorf("Len = %d, want 2", c.Len())
	}
}

// TestGetData checks "data:" values, which are their own key, and that
// passphrases are part of the key.
func TestGetData(t *testing.T) {
	certPEM, keyPEM := testutil.SelfSigned(t, testutil.ECDSA, "data.example")
	var loads atomic.Int32
	c := New(0, counting(&loads))
	for range 2 {
		got, err := c.Get("data:"+string(certPEM), "data:"+string(keyPEM), nil, "")
		if err != nil || cn(t, got) != "data.example" {
			t.Fatalf("%v %v", got, err)
		}
	}
	pw := [][]byte{[]byte("secret")}
	if _, err := c.Get("data:"+string(certPEM), "data:"+string(keyPEM), pw, Passwords(pw)); err != nil {
		t.Fatal(err)
	}
	if n := loads.Load(); n != 2 {
		t.Errorf("loads = %d, want 2", n)
	}
}
