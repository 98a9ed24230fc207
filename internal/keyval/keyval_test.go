package keyval

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

func TestLookupByType(t *testing.T) {
	cases := []struct {
		name   string
		typ    Type
		keys   map[string]string
		search string
		want   string
		found  bool
	}{
		{"string exact", String, map[string]string{"a": "1", "ab": "2"}, "ab", "2", true},
		{"string no prefix", String, map[string]string{"a": "1"}, "ab", "", false},
		{"string case-sensitive", String, map[string]string{"a": "1"}, "A", "", false},
		{"string empty key", String, map[string]string{"a": "1"}, "", "", false},
		{"prefix longest", Prefix, map[string]string{"/a": "1", "/a/b": "2", "/": "0"}, "/a/b/c", "2", true},
		{"prefix shorter", Prefix, map[string]string{"/a": "1", "/a/b": "2"}, "/a/x", "1", true},
		{"prefix exact", Prefix, map[string]string{"/a": "1"}, "/a", "1", true},
		{"prefix none", Prefix, map[string]string{"/a/b": "1"}, "/a", "", false},
		{"ip in network", IP, map[string]string{"10.0.0.0/8": "net", "10.1.0.0/16": "sub"}, "10.1.2.3", "sub", true},
		{"ip wider network", IP, map[string]string{"10.0.0.0/8": "net", "10.1.0.0/16": "sub"}, "10.2.2.3", "net", true},
		{"ip exact address", IP, map[string]string{"10.0.0.0/8": "net", "10.1.2.3": "host"}, "10.1.2.3", "host", true},
		{"ip outside", IP, map[string]string{"10.0.0.0/8": "net"}, "11.0.0.1", "", false},
		{"ip range in network", IP, map[string]string{"10.0.0.0/8": "net"}, "10.1.0.0/16", "net", true},
		{"ip range wider than key", IP, map[string]string{"10.1.0.0/16": "sub"}, "10.0.0.0/8", "", false},
		{"ipv6", IP, map[string]string{"2001:db8::/32": "v6"}, "2001:db8::1", "v6", true},
		{"ipv4-mapped", IP, map[string]string{"192.0.2.0/24": "v4"}, "::ffff:192.0.2.7", "v4", true},
		{"ip not an address", IP, map[string]string{"10.0.0.0/8": "net"}, "host", "", false},
		{"ip host key not in other family", IP, map[string]string{"0.0.0.0/0": "all4"}, "::1", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			z := NewZone("z", 1<<20, c.typ, nil)
			if err := z.Load(c.keys, 0); err != nil {
				t.Fatal(err)
			}
			got, found := z.Lookup([]byte(c.search))
			if got != c.want || found != c.found {
				t.Errorf("Lookup(%q) = %q, %v; want %q, %v", c.search, got, found, c.want, c.found)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	clock := testutil.NewClock(time.Unix(1000, 0))
	z := NewZone("z", 1<<20, String, clock.Now)
	if err := z.Add(map[string]Pair{"a": {Value: "1"}}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := z.Add(map[string]Pair{"b": {Value: "2", Expire: 2 * time.Second}}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance time.Duration
		set     bool // PATCH "a" before looking
		a, b    bool
	}{
		{0, false, true, true},
		{2 * time.Second, false, true, false}, // b's own expire
		{7 * time.Second, true, true, false},  // a refreshed at 9s
		{9 * time.Second, false, true, false}, // 18s: a lives until 19s
		{time.Second, false, false, false},
	}
	for i, s := range steps {
		clock.Add(s.advance)
		if s.set {
			if err := z.Set("a", &Pair{Value: "1"}, 10*time.Second); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		_, a := z.Lookup([]byte("a"))
		_, b := z.Lookup([]byte("b"))
		if a != s.a || b != s.b {
			t.Errorf("step %d: a %v b %v, want %v %v", i, a, b, s.a, s.b)
		}
	}
	if err := z.Add(map[string]Pair{"c": {Value: "x", Expire: time.Second}}, 0); !errors.Is(err, ErrNoTimeout) {
		t.Errorf("expire without timeout: %v, want ErrNoTimeout", err)
	}
}

func TestChanges(t *testing.T) {
	z := NewZone("z", 1<<20, IP, nil)
	cases := []struct {
		name string
		do   func() error
		want error
	}{
		{"add two to empty", func() error { return z.Add(map[string]Pair{"10.0.0.0/8": {Value: "a"}, "10.0.0.1": {Value: "b"}}, 0) }, nil},
		{"add two to non-empty", func() error { return z.Add(map[string]Pair{"1.1.1.1": {}, "2.2.2.2": {}}, 0) }, ErrOnlyOne},
		{"add existing", func() error { return z.Add(map[string]Pair{"10.0.0.1": {Value: "c"}}, 0) }, ErrKeyExists},
		{"add bad ip", func() error { return z.Add(map[string]Pair{"nope": {Value: "c"}}, 0) }, ErrBadKey},
		{"add empty key", func() error { return z.Add(map[string]Pair{"": {Value: "c"}}, 0) }, ErrKeyRequired},
		{"add nothing", func() error { return z.Add(nil, 0) }, ErrKeyRequired},
		{"set missing", func() error { return z.Set("9.9.9.9", &Pair{Value: "x"}, 0) }, ErrKeyNotFound},
		{"set", func() error { return z.Set("10.0.0.1", &Pair{Value: "B"}, 0) }, nil},
		{"delete", func() error { return z.Set("10.0.0.0/8", nil, 0) }, nil},
	}
	for _, c := range cases {
		if err := c.do(); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if got := string(z.JSON()); got != `{"10.0.0.1":"B"}` {
		t.Errorf("JSON = %s", got)
	}
	if _, ok := z.Lookup([]byte("10.2.3.4")); ok {
		t.Error("deleted network still matches")
	}
	z.Clear()
	if got := string(z.JSON()); got != `{}` {
		t.Errorf("after Clear: %s", got)
	}
}

func TestSizeLimit(t *testing.T) {
	z := NewZone("z", 32<<10, String, nil)
	// 5 pages of 4096 bytes; a short pair costs 128.
	if b := Budget(32 << 10); b != 5*4096 {
		t.Fatalf("Budget(32k) = %d", b)
	}
	n := 0
	for ; ; n++ {
		err := z.Add(map[string]Pair{"k" + strings.Repeat("0", 3) + string(rune('a'+n%26)) + itoa(n): {Value: "v"}}, 0)
		if errors.Is(err, ErrNoMemory) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n != 160 {
		t.Errorf("a 32k zone took %d short pairs, want 160", n)
	}
	// A change that grows a value past the budget is refused too.
	if err := z.Set("k000a0", &Pair{Value: strings.Repeat("x", 200)}, 0); !errors.Is(err, ErrNoMemory) {
		t.Errorf("growing Set: %v, want ErrNoMemory", err)
	}
	// Room comes back when a pair goes.
	if err := z.Set("k000a0", nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := z.Add(map[string]Pair{"new": {Value: "v"}}, 0); err != nil {
		t.Errorf("add after delete: %v", err)
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "one.keyval")
	z := NewZone("one", 1<<20, String, nil)
	want := map[string]string{"b": "2", "a": `quote " and \ slash`, "ü": "ünï"}
	if err := z.Load(want, 0); err != nil {
		t.Fatal(err)
	}
	if err := z.Save(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(data); got != `{"a":"quote \" and \\ slash","b":"2","ü":"ünï"}`+"\n" {
		t.Errorf("state file = %s", got)
	}
	left, _ := filepath.Glob(path + ".tmp*")
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	back := NewZone("one", 1<<20, String, nil)
	pairs, err := ReadState(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.LoadState(pairs, 0); err != nil {
		t.Fatal(err)
	}
	if string(back.JSON()) != string(z.JSON()) {
		t.Errorf("round trip: %s, want %s", back.JSON(), z.JSON())
	}
}

func TestLookupAllocs(t *testing.T) {
	for _, typ := range []Type{String, Prefix} {
		z := NewZone("z", 1<<20, typ, nil)
		if err := z.Load(map[string]string{"/blocked": "1"}, time.Hour); err != nil {
			t.Fatal(err)
		}
		key := []byte("/blocked")
		if n := testing.AllocsPerRun(100, func() { z.Lookup(key) }); n != 0 {
			t.Errorf("%v: Lookup allocates %v times", typ, n)
		}
	}
}

// TestPurgeManyExpiredIPKeys checks that removing the expired pairs of a
// large type=ip zone, which the next change does under the zone's write
// lock (every lookup waits), takes time in proportion to the pairs, not
// to their square: 40000 pairs expiring together once took seconds.
func TestPurgeManyExpiredIPKeys(t *testing.T) {
	cases := []struct {
		name string
		key  func(i int) string
	}{
		{"addresses", func(i int) string { return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255) }},
		{"networks", func(i int) string { return fmt.Sprintf("10.%d.%d.0/24", i>>8&255, i&255) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Unix(1000, 0)
			z := NewZone("big", 1<<30, IP, func() time.Time { return now })
			const n = 40000
			pairs := make(map[string]Pair, n)
			for i := range n {
				pairs[tc.key(i)] = Pair{Value: "1"}
			}
			if err := z.Add(pairs, time.Minute); err != nil {
				t.Fatal(err)
			}
			now = now.Add(2 * time.Minute)
			done := make(chan error, 1)
			go func() { done <- z.Add(map[string]Pair{"192.0.2.1": {Value: "x"}}, time.Minute) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(3 * time.Second):
				t.Fatalf("removing %d expired pairs took more than 3s", n)
			}
			if got := z.All(); len(got) != 1 || got[0].Key != "192.0.2.1" {
				t.Errorf("the zone has %d pairs after the purge, want the new one", len(got))
			}
			if v, ok := z.Lookup([]byte("192.0.2.1")); !ok || v != "x" {
				t.Errorf("Lookup of the new pair: %q, %v", v, ok)
			}
		})
	}
}

// TestPurgeKeepsOtherKeyOfNetwork: when the pair a network is indexed by
// expires, another key of the same network takes its place.
func TestPurgeKeepsOtherKeyOfNetwork(t *testing.T) {
	now := time.Unix(1000, 0)
	z := NewZone("z", 1<<20, IP, func() time.Time { return now })
	steps := []struct {
		key  string
		pair Pair
	}{
		{"10.0.0.1/32", Pair{Value: "net"}},
		{"10.0.0.1", Pair{Value: "host", Expire: time.Second}},
	}
	for _, s := range steps {
		if err := z.Add(map[string]Pair{s.key: s.pair}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := z.Lookup([]byte("10.0.0.1")); v != "host" {
		t.Fatalf("before the expiry: %q, want host", v)
	}
	now = now.Add(2 * time.Second)
	if err := z.Add(map[string]Pair{"192.0.2.1": {Value: "x"}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, ok := z.Lookup([]byte("10.0.0.1")); !ok || v != "net" {
		t.Errorf("after the expiry: %q, %v, want net", v, ok)
	}
}
