package userid

import (
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/config"
)

// nginxStart is a start and pid that give the start value 0x656D05EF, that
// of the nginx 1.22.1 worker whose answers the tests below repeat; now is
// the second it answered at (0x6B14AD53).
var (
	nginxStart = time.Unix(0, 519300_000)
	now        = time.Unix(0x6B14AD53, 0)
)

const nginxPID = 1519

// TestCookies: the identifiers and cookies are those nginx 1.22.1 sent for
// the same settings, sequence number and second.
func TestCookies(t *testing.T) {
	local := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name   string
		set    config.Userid
		before int // identifiers issued before, in the same mode
		local  netip.Addr
		cookie string
		value  string
	}{
		{"on, attributes", config.Userid{Mode: config.UseridOn, Name: "uid", Expires: 86400, Domain: "; domain=example.com", Path: "; path=/on",
			Flags: config.UseridSecure | config.UseridHTTPOnly | config.UseridSameSiteLax}, 0, local,
			"uid=fwAAAWsUrVNlbQXvAwMDAg==; expires=Mon, 07-Dec-26 00:33:23 GMT; domain=example.com; path=/on; secure; httponly; samesite=lax",
			"uid=0100007F53AD146BEF056D6502030303"},
		{"v1 service", config.Userid{Mode: config.UseridV1, Name: "uid", Service: 258, ServiceSet: true, Path: "; path=/"}, 0, local,
			"uid=AgEAAFOtFGvvBW1lAQAAAA==; path=/", "uid=000001026B14AD53656D05EF00000001"},
		{"v1 second", config.Userid{Mode: config.UseridV1, Name: "uid", Service: 258, ServiceSet: true, Path: "; path=/"}, 1, local,
			"uid=AgEAAFOtFGvvBW1lAQEAAA==; path=/", "uid=000001026B14AD53656D05EF00000101"},
		{"mark, max", config.Userid{Mode: config.UseridOn, Name: "uid", Mark: 'X', Expires: config.UseridMaxExpires, Path: "; path=/"}, 1, local,
			"uid=fwAAAWsUrVNlbQXvAwMEAgX=; expires=Thu, 31-Dec-37 23:55:55 GMT; path=/", "uid=0100007F53AD146BEF056D6502040303"},
		{"on service, four-digit year", config.Userid{Mode: config.UseridOn, Name: "uid", Service: 258, ServiceSet: true, Expires: 30 * 365 * 86400, Path: "; path=/"}, 2, local,
			"uid=AAABAmsUrVNlbQXvAwMFAg==; expires=Tue, 28-Nov-2056 00:33:23 GMT; path=/", "uid=0201000053AD146BEF056D6502050303"},
		{"IPv6 last bytes", config.Userid{Mode: config.UseridOn, Name: "id", Path: "; path=/"}, 0, netip.MustParseAddr("::1"),
			"id=AAAAAWsUrVNlbQXvAwMDAg==; path=/", "id=0100000053AD146BEF056D6502030303"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGenerator(nginxStart, nginxPID)
			for range tt.before {
				g.New(&tt.set, tt.local, now)
			}
			u := g.New(&tt.set, tt.local, now)
			if got := string(AppendCookie(nil, &tt.set, &u, "", now)); got != tt.cookie {
				t.Errorf("cookie %q\nwant   %q", got, tt.cookie)
			}
			if got := string(u.AppendVar(nil, tt.set.Name)); got != tt.value {
				t.Errorf("value %q, want %q", got, tt.value)
			}
		})
	}
}

// TestResend: a valid cookie without the level's mark goes out again with
// its first 22 characters, the mark and '=', as nginx sent it.
func TestResend(t *testing.T) {
	set := config.Userid{Mode: config.UseridOn, Name: "uid", Mark: 'X', Expires: config.UseridMaxExpires, Path: "; path=/"}
	for _, got := range []string{"fwAAAWsUrVNlbQXvAwMDAg==", "fwAAAWsUrVNlbQXvAwMDAgY=", "fwAAAWsUrVNlbQXvAwMDAgX"} {
		u, err := Decode(got)
		if err != nil || Marked(got, 'X') {
			t.Fatalf("%q: %v, marked %v", got, err, Marked(got, 'X'))
		}
		want := "uid=fwAAAWsUrVNlbQXvAwMDAgX=; expires=Thu, 31-Dec-37 23:55:55 GMT; path=/"
		if c := string(AppendCookie(nil, &set, &u, got, now)); c != want {
			t.Errorf("%q: cookie %q, want %q", got, c, want)
		}
	}
	if !Marked("fwAAAWsUrVNlbQXvAwMDAgX=", 'X') {
		t.Error("the marked cookie is not marked")
	}
}

// TestDecode: what nginx 1.22.1 made of these values ($uid_got, or the
// error it logged and a new cookie).
func TestDecode(t *testing.T) {
	tests := []struct {
		value string
		want  string // $uid_got; "" when not valid
		err   error
	}{
		{"fwAAAWsUrVNlbQXvAwMDAg==", "uid=0100007F53AD146BEF056D6502030303", nil},
		{"fwAAAWsUrVNlbQXvAwMDAg", "uid=0100007F53AD146BEF056D6502030303", nil},
		{"fwAAAWsUrVNlbQXvAwMDAgX=", "uid=0100007F53AD146BEF056D6502030303", nil},
		{"fwAAAWsUrVNlbQXvAwMDAA==", "uid=0100007F53AD146BEF056D6500030303", nil}, // the last word is 0x00030303
		{"fwAAAWsUrVNlbQXvAwM=Agg", "uid=0100007F53AD146BEF056D6500000303", nil},  // '=' ends the decoding
		{"fwAAAWsUrVNlbQXvAwMD=gg", "uid=0100007F53AD146BEF056D6500030303", nil},
		{"AAAAAAAAAAAAAAAAAAAAAA==", "", nil}, // the last word 0: no cookie
		{"short", "", ErrShort},
		{"fwAAAWsUrVNlbQXvAwMD!g==", "", ErrInvalid},
		{"fwAAAWsUrVNlbQXvAwMDA=gg", "", ErrInvalid}, // 21 characters before '='
		{"fwAAAWsUrVNlbQXvAwMDA_==", "", ErrInvalid}, // base64url is not nginx's
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			u, err := Decode(tt.value)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			got := ""
			if err == nil && u.Valid() {
				got = string(u.AppendVar(nil, "uid"))
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSequenceUnique: concurrent requests never get the same identifier,
// and the "on" sequence wraps to its first value as nginx's does.
func TestSequenceUnique(t *testing.T) {
	g := NewGenerator(nginxStart, nginxPID)
	set := config.Userid{Mode: config.UseridOn, Name: "uid"}
	var mu sync.Mutex
	seen := map[UID]bool{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				u := g.New(&set, netip.MustParseAddr("10.0.0.1"), now)
				mu.Lock()
				if seen[u] {
					t.Errorf("identifier %x issued twice", u)
				}
				seen[u] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	g.on.Store(0xffffff02 - firstOn) // the last value before the wrap
	if n := g.nextOn(); n != 0xffffff02 {
		t.Fatalf("sequence %#x", n)
	}
	if n := g.nextOn(); n != firstOn {
		t.Errorf("after the wrap %#x, want %#x", n, firstOn)
	}
}
