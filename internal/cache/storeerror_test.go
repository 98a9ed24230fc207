package cache

import (
	"os"
	"testing"
	"time"
)

// TestStoreError checks an intercepted error's status kept for a key, as
// nginx's cache node keeps node->error: it answers lookups ahead of a file
// until it expires (whole seconds), a response stored for the key replaces
// it, and once it expired the key is a miss whose old file is gone (nginx's
// "renew").
func TestStoreError(t *testing.T) {
	z, c := newTestZone(t, Options{})
	k := Sum("e")
	z.StoreError(k, 404, c.now().Add(2*time.Second))
	if l := z.Get(k); l.Error != 404 || l.Exists || l.Fresh {
		t.Fatalf("after StoreError: %+v, want Error 404 alone", l)
	}
	if !z.Fresh(k) || z.Error(k) != 404 {
		t.Fatalf("Fresh %v Error %d, want true 404", z.Fresh(k), z.Error(k))
	}
	store(t, z, "e", "body", time.Minute)
	if l := z.Get(k); l.Error != 0 || !l.Fresh {
		t.Fatalf("after a stored response: %+v, want a fresh entry", l)
	}

	// An error over a file: the error answers, and once it expired the
	// file is forgotten with it.
	z.StoreError(k, 500, c.now().Add(time.Second))
	if l := z.Get(k); l.Error != 500 {
		t.Fatalf("error over a file: %+v, want Error 500", l)
	}
	c.add(1500 * time.Millisecond) // the same second as the expiry, or the next
	c.add(time.Second)
	if z.Error(k) != 0 || z.Fresh(k) {
		t.Fatalf("expired error: Error %d Fresh %v, want 0 false", z.Error(k), z.Fresh(k))
	}
	if l := z.Get(k); l.Error != 0 || l.Exists {
		t.Fatalf("after the error expired: %+v, want a miss", l)
	}
	if _, err := os.Stat(z.path(k)); !os.IsNotExist(err) {
		t.Fatalf("the file stayed after the error expired: %v", err)
	}
}
