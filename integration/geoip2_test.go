package integration

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// geoip2DB writes a database: 10.0.0.0/8 is Germany, 10.1.0.0/16 France,
// 2001:db8::/32 Japan, 127.0.0.1 "A" and 127.0.0.2 "B" (the loopback
// clients of the stream test).
func geoip2DB(t *testing.T, path string, de string) {
	t.Helper()
	cc := func(iso string) testutil.MMDBMap {
		return testutil.MMDBMap{{Key: "country", Value: testutil.MMDBMap{{Key: "iso_code", Value: iso}, {Key: "geoname_id", Value: uint32(7)}}}}
	}
	testutil.WriteMMDB(t, path, testutil.MMDBOptions{BuildEpoch: 1700000000}, []testutil.MMDBNetwork{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Value: testutil.MMDBMap{
			{Key: "country", Value: testutil.MMDBMap{{Key: "iso_code", Value: de}, {Key: "names", Value: testutil.MMDBMap{{Key: "en", Value: "Germany"}}}}},
			{Key: "location", Value: testutil.MMDBMap{{Key: "latitude", Value: 51.2993}}},
			{Key: "eu", Value: true},
		}},
		{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Value: cc("FR")},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Value: cc("JP")},
		{Prefix: netip.MustParsePrefix("127.0.0.1/32"), Value: cc("A")},
		{Prefix: netip.MustParsePrefix("127.0.0.2/32"), Value: cc("B")},
	})
}

// TestGeoIP2HTTP runs the binary with a geoip2 block in http: variables
// with source=$arg_ip, defaults, value types, metadata, the client address
// through geoip2_proxy and X-Forwarded-For, a header to the backend, and
// auto_reload picking up a new file. The answers are nginx 1.22.1's with
// Debian's libnginx-mod-http-geoip2 3.4 for the same database.
func TestGeoIP2HTTP(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	be := startBackend(t, "be")
	dbDir := t.TempDir()
	db := filepath.Join(dbDir, "country.mmdb")
	geoip2DB(t, db, "DE")
	conf := fmt.Sprintf(`events {}
http {
    access_log off;
    geoip2_proxy 127.0.0.0/8;
    geoip2 %s {
        auto_reload 1s;
        $cc default=XX source=$arg_ip country iso_code;
        $name source=$arg_ip country names en;
        $lat source=$arg_ip location latitude;
        $eu source=$arg_ip eu;
        $client default=none country iso_code;
        $build metadata build_epoch;
    }
    server {
        listen 127.0.0.1:0;
        location / { return 200 "cc=$cc name=$name lat=$lat eu=$eu client=$client build=$build\n"; }
        location /be { proxy_set_header X-Country $cc; proxy_pass http://%s; }
    }
}`, db, be.addr())
	in := startFulcrum(t, conf, 1)
	client := newClient()
	tests := []struct{ path, xff, want string }{
		{"/?ip=10.2.3.4", "", "cc=DE name=Germany lat=51.29930 eu=1 client=A build=1700000000"},
		{"/?ip=10.1.2.3", "", "cc=FR name= lat= eu= client=A build=1700000000"},
		{"/?ip=2001:db8::1", "", "cc=JP name= lat= eu= client=A build=1700000000"},
		{"/?ip=::ffff:10.2.3.4", "", "cc=XX name= lat= eu= client=A build=1700000000"},
		{"/?ip=bogus", "", "cc=XX name= lat= eu= client=A build=1700000000"},
		{"/?ip=10.2.3.4:80", "", "cc=XX name= lat= eu= client=A build=1700000000"},
		{"/", "10.1.9.9", "cc=XX name= lat= eu= client=FR build=1700000000"},
		{"/", "192.0.2.1", "cc=XX name= lat= eu= client=none build=1700000000"},
	}
	for _, tt := range tests {
		var hs []string
		if tt.xff != "" {
			hs = []string{"X-Forwarded-For", tt.xff}
		}
		code, body := get(t, client, in.url(0)+tt.path, hs...)
		if code != 200 || strings.TrimSpace(body) != tt.want {
			t.Errorf("%s (X-Forwarded-For %q): %d %q, want %q", tt.path, tt.xff, code, body, tt.want)
		}
	}
	if _, body := get(t, client, in.url(0)+"/be?ip=10.1.0.1"); !strings.Contains(body, "x-country: FR") {
		t.Errorf("backend got %q, want X-Country: FR", body)
	}
	// auto_reload: a new file (newer mtime) is read within the period.
	geoip2DB(t, db+".new", "AT")
	future := time.Now().Add(5 * time.Second)
	if err := os.Chtimes(db+".new", future, future); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(db+".new", db); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "auto_reload to read the new file", func() bool {
		_, body := get(t, client, in.url(0)+"/?ip=10.2.3.4")
		return strings.HasPrefix(body, "cc=AT ")
	})
	waitFor(t, "the reload logged", func() bool { return in.logged("Reload MMDB") })
}

// TestGeoIP2Stream runs a stream server whose upstream a map chooses from
// a geoip2 variable of the client's address: 127.0.0.1 goes to a,
// 127.0.0.2 to b.
func TestGeoIP2Stream(t *testing.T) {
	a, b := startTCPEcho(t, "a"), startTCPEcho(t, "b")
	db := filepath.Join(t.TempDir(), "country.mmdb")
	geoip2DB(t, db, "DE")
	conf := fmt.Sprintf(`events {}
stream {
    geoip2 %s {
        $cc default=none country iso_code;
    }
    map $cc $up { A a; B b; default none; }
    upstream a { server %s; }
    upstream b { server %s; }
    server { listen 127.0.0.1:0; proxy_pass $up; }
}`, db, a, b)
	in := startFulcrum(t, conf, 1)
	addr := in.listening()[0]
	for _, tt := range []struct{ from, want string }{{"127.0.0.1", "a hi"}, {"127.0.0.2", "b hi"}} {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(tt.from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		s := &tcpSession{c: c, r: bufio.NewReader(c)}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if got := s.ask("hi"); got != tt.want {
			t.Errorf("from %s: %q, want %q", tt.from, got, tt.want)
		}
		c.Close()
	}
}

// TestGeoIP2BadFile checks fulcrum -t on a file that is no database or is
// missing: the module's message (as nginx -t printed it), with file and line;
// and on a path that is not a regular file (/dev/zero, a FIFO), which
// fulcrum refuses at once, before reading it, with a hint.
func TestGeoIP2BadFile(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.mmdb")
	if err := os.WriteFile(bad, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.mmdb")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	const hint = ", name a MaxMind DB file (.mmdb) of at most 1024 MiB"
	notRegular := `MMDB_open(%[1]q) failed - Error opening the specified MaxMind DB file: %[1]s: not a regular file (%[2]s)`
	tests := []struct{ block, file, want, hint string }{
		{"http", bad, fmt.Sprintf(`MMDB_open(%q) failed - The MaxMind DB file contains invalid metadata`, bad), ""},
		{"stream", bad, fmt.Sprintf(`MMDB_open(%q) failed - The MaxMind DB file contains invalid metadata`, bad), ""},
		// A relative path is taken from the prefix, and named in full;
		// fulcrum adds the system's reason to the module's words.
		{"http", "missing.mmdb", fmt.Sprintf(`MMDB_open(%[1]q) failed - Error opening the specified MaxMind DB file: open %[1]s: no such file or directory`, filepath.Join(dir, "missing.mmdb")), ""},
		{"http", "/dev/zero", fmt.Sprintf(notRegular, "/dev/zero", "a device"), hint},
		{"stream", "/dev/zero", fmt.Sprintf(notRegular, "/dev/zero", "a device"), hint},
		{"http", fifo, fmt.Sprintf(notRegular, fifo, "a FIFO"), hint},
		{"stream", fifo, fmt.Sprintf(notRegular, fifo, "a FIFO"), hint},
	}
	for _, tt := range tests {
		conf := filepath.Join(dir, tt.block+".conf")
		src := fmt.Sprintf("events {}\n%s {\n    geoip2 %s { $cc country iso_code; }\n}\n", tt.block, tt.file)
		if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runFulcrum(t, "-t", "-p", dir, "-c", conf)
		want := fmt.Sprintf("%s in %s:3%s", tt.want, conf, tt.hint)
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("%s %s: exit %d\n%s\nwant %q", tt.block, tt.file, r.code, r.stderr, want)
		}
	}
}
