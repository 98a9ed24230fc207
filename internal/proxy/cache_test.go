package proxy

import (
	"strings"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/h1"
)

// TestCacheExpiry: what nginx 1.22 stores, and until when, from an upstream
// head (the cases of the daemon's TestProxyCache, checked against nginx, and
// the finer points of its header handlers).
func TestCacheExpiry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	valid := []config.CacheValid{{Codes: []int{200, 301, 302}, Time: 10 * time.Minute}, {Codes: []int{404}, Time: time.Minute}}
	tests := []struct {
		name   string
		head   string
		set    config.CacheSettings
		want   time.Duration // from now; 0: not stored
		stored bool
	}{
		{"200 by proxy_cache_valid", "HTTP/1.1 200 OK\r\n", config.CacheSettings{}, 10 * time.Minute, true},
		{"404 by its own rule", "HTTP/1.1 404 Not Found\r\n", config.CacheSettings{}, time.Minute, true},
		{"500 without a rule", "HTTP/1.1 500 Oops\r\n", config.CacheSettings{}, 0, false},
		{"500 with max-age", "HTTP/1.1 500 Oops\r\nCache-Control: max-age=30\r\n", config.CacheSettings{}, 30 * time.Second, true},
		{"s-maxage wins over max-age", "HTTP/1.1 200 OK\r\nCache-Control: max-age=30, s-maxage=60\r\n", config.CacheSettings{}, time.Minute, true},
		{"max-age=0", "HTTP/1.1 200 OK\r\nCache-Control: max-age=0\r\n", config.CacheSettings{}, 0, false},
		{"max-age not a number", "HTTP/1.1 200 OK\r\nCache-Control: max-age=1x\r\n", config.CacheSettings{}, 0, false},
		{"no-store", "HTTP/1.1 200 OK\r\nCache-Control: public, no-store\r\n", config.CacheSettings{}, 0, false},
		{"Cache-Control ignored", "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\n", config.CacheSettings{IgnoreCacheControl: true}, 10 * time.Minute, true},
		{"X-Accel-Expires seconds", "HTTP/1.1 200 OK\r\nX-Accel-Expires: 5\r\n", config.CacheSettings{}, 5 * time.Second, true},
		{"X-Accel-Expires @time", "HTTP/1.1 200 OK\r\nX-Accel-Expires: @1800000100\r\n", config.CacheSettings{}, 100 * time.Second, true},
		{"X-Accel-Expires 0", "HTTP/1.1 200 OK\r\nX-Accel-Expires: 0\r\n", config.CacheSettings{}, 0, false},
		{"X-Accel-Expires ignored", "HTTP/1.1 200 OK\r\nX-Accel-Expires: 0\r\n", config.CacheSettings{IgnoreXAccelExpires: true}, 10 * time.Minute, true},
		{"X-Accel-Expires first, then no-cache", "HTTP/1.1 200 OK\r\nX-Accel-Expires: 5\r\nCache-Control: no-cache\r\n", config.CacheSettings{}, 5 * time.Second, true},
		{"no-cache first, then X-Accel-Expires", "HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\nX-Accel-Expires: 5\r\n", config.CacheSettings{}, 0, false},
		{"max-age first, then X-Accel-Expires", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nX-Accel-Expires: 5\r\n", config.CacheSettings{}, 5 * time.Second, true},
		{"Expires", "HTTP/1.1 200 OK\r\nExpires: " + now.Add(time.Hour).UTC().Format(timeFormat) + "\r\n", config.CacheSettings{}, time.Hour, true},
		{"Expires after max-age is ignored", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nExpires: " + now.Add(time.Hour).UTC().Format(timeFormat) + "\r\n", config.CacheSettings{}, time.Minute, true},
		{"Expires in the past", "HTTP/1.1 200 OK\r\nExpires: Thu, 01 Jan 1970 00:00:00 GMT\r\n", config.CacheSettings{}, 0, false},
		{"Expires malformed", "HTTP/1.1 200 OK\r\nExpires: soon\r\n", config.CacheSettings{}, 0, false},
		{"Set-Cookie", "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\n", config.CacheSettings{}, 0, false},
		{"Set-Cookie ignored", "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\n", config.CacheSettings{IgnoreSetCookie: true}, 10 * time.Minute, true},
		{"Vary: *", "HTTP/1.1 200 OK\r\nVary: *\r\n", config.CacheSettings{}, 0, false},
		{"Vary: Accept-Encoding", "HTTP/1.1 200 OK\r\nVary: Accept-Encoding\r\n", config.CacheSettings{}, 10 * time.Minute, true},
		// Recorded from nginx 1.22.1 (a backend sending these fields,
		// proxy_cache_valid 10m): a HIT on the second request, or not.
		{"X-Accel-Expires @0 gives no time", "HTTP/1.1 200 OK\r\nX-Accel-Expires: @0\r\n", config.CacheSettings{}, 10 * time.Minute, true},
		{"X-Accel-Expires with a sign is skipped (ngx_atoi)", "HTTP/1.1 200 OK\r\nX-Accel-Expires: +5\r\n", config.CacheSettings{}, 10 * time.Minute, true},
		{"X-Accel-Expires ignored still skips a later Cache-Control after Expires", "HTTP/1.1 200 OK\r\nExpires: " + now.Add(time.Hour).UTC().Format(timeFormat) + "\r\nX-Accel-Expires: 5\r\nCache-Control: no-cache\r\n", config.CacheSettings{IgnoreXAccelExpires: true}, time.Hour, true},
		{"Vary with * among names", "HTTP/1.1 200 OK\r\nVary: Accept, *\r\n", config.CacheSettings{}, 10 * time.Minute, true},
		{"Vary longer than 128 bytes", "HTTP/1.1 200 OK\r\nVary: " + strings.Repeat("A", 60) + "," + strings.Repeat("B", 68) + "\r\n", config.CacheSettings{}, 0, false},
		{"Vary of 128 bytes", "HTTP/1.1 200 OK\r\nVary: " + strings.Repeat("A", 60) + "," + strings.Repeat("B", 67) + "\r\n", config.CacheSettings{}, 10 * time.Minute, true},
		{"stale-if-error not a number", "HTTP/1.1 200 OK\r\nCache-Control: max-age=60, stale-if-error=3x\r\n", config.CacheSettings{}, 0, false},
		{"stale-while-revalidate not a number", "HTTP/1.1 200 OK\r\nCache-Control: stale-while-revalidate=x\r\n", config.CacheSettings{}, 0, false},
		{"stale-while-revalidate alone", "HTTP/1.1 200 OK\r\nCache-Control: stale-while-revalidate=5\r\n", config.CacheSettings{}, 10 * time.Minute, true},
		{"Expires of this second", "HTTP/1.1 200 OK\r\nExpires: " + now.UTC().Format(timeFormat) + "\r\n", config.CacheSettings{}, 0, true},
		{"Expires with text after the time", "HTTP/1.1 200 OK\r\nExpires: " + now.Add(time.Hour).UTC().Format(timeFormat) + "xx\r\n", config.CacheSettings{}, time.Hour, true},
		{"Vary: * ignored", "HTTP/1.1 200 OK\r\nVary: *\r\n", config.CacheSettings{IgnoreVary: true}, 10 * time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := tt.set
			set.Valid = valid
			ch, err := compileCache(nil, &set, nil, nil, nil)
			if err != nil || ch != nil {
				t.Fatalf("a rule without a zone compiled: %v %v", ch, err)
			}
			c := &cacheRule{set: &set}
			var head h1.Response
			if _, err := h1.ParseResponse([]byte(tt.head+"Content-Length: 0\r\n\r\n"), &head, []byte("GET"), h1.Limits{}); err != nil {
				t.Fatal(err)
			}
			defer head.Reset()
			got, ok := c.expiry(&head, now)
			if ok != tt.stored || ok && got.Sub(now) != tt.want {
				t.Errorf("expiry = %v (stored %v), want +%v (stored %v)", got.Sub(now), ok, tt.want, tt.stored)
			}
		})
	}
}

const timeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestStoredHead(t *testing.T) {
	var head h1.Response
	raw := "HTTP/1.1 200 Fine\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 2\r\nKeep-Alive: timeout=5\r\nTrailer: X-T\r\nETag: \"e\"\r\n\r\n"
	if _, err := h1.ParseResponse([]byte(raw), &head, []byte("GET"), h1.Limits{}); err != nil {
		t.Fatal(err)
	}
	defer head.Reset()
	got := string(storedHead(nil, &head))
	want := "HTTP/1.1 200 Fine\r\nX-A: 1\r\nETag: \"e\"\r\n"
	if got != want {
		t.Errorf("stored head = %q, want %q", got, want)
	}
	if strings.Contains(got, "chunked") {
		t.Error("the framing was kept")
	}
}
