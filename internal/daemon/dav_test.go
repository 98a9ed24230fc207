package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// davConf has the locations the WebDAV answers were taken from nginx 1.22.1
// with (%[1]s is the test's directory, whose root/ is the document root).
const davConf = `
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %[1]s/root;
        location / { dav_methods PUT DELETE MKCOL COPY MOVE; }
        location /full/ { dav_methods PUT MKCOL; create_full_put_path on; dav_access user:rw group:rw all:r; }
        location /min/ { dav_methods DELETE; min_delete_depth 3; }
        location /al/ { alias %[1]s/root/al/x/; dav_methods PUT DELETE MKCOL COPY MOVE; }
        location /put/ { dav_methods PUT; client_max_body_size 10; }
        location /ro/ { }
        location /t/ { try_files $uri /tfall.txt; dav_methods PUT DELETE; }
    }
`

// davTree is the document root's starting content: directories end in "/".
var davTree = []string{"dir/sub/", "dir/f.txt", "s.txt", "sd/in/q", "min/f", "min/a/b/f", "al/x/a.txt", "full/", "put/", "ro/", "t/s.txt"}

// davRequest sends one request on its own connection: body nil sends
// neither Content-Length nor a body (what nginx's PUT answers 500 to).
func davRequest(t *testing.T, addr, method, path string, fields []string, body *string) *http.Response {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n", method, path)
	for _, f := range fields {
		b.WriteString(f + "\r\n")
	}
	switch {
	case body != nil && slices.Contains(fields, "Transfer-Encoding: chunked"):
		fmt.Fprintf(&b, "\r\n%x\r\n%s\r\n0\r\n\r\n", len(*body), *body)
	case body != nil:
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(*body), *body)
	default:
		b.WriteString("\r\n")
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	return resp
}

func str(s string) *string { return &s }

// TestDAV runs WebDAV requests in order against one document root; each
// status, Location and Content-Length is what nginx 1.22.1 answered to the
// same request in the same state (run side by side, both trees compared
// afterwards, file modes included, nginx running as a daemon).
func TestDAV(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	for _, p := range davTree {
		full := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(filepath.Base(p)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := startDaemon(t, dir, fmt.Sprintf(davConf, dir))
	here := "http://localhost:" + addr[strings.LastIndexByte(addr, ':')+1:]

	steps := []struct {
		method, path string
		fields       []string
		body         *string
		status       int
		location     string // "" for none
		zeroLength   bool   // Content-Length: 0
	}{
		// PUT
		{method: "PUT", path: "/new.txt", body: str("hello"), status: 201, location: "/new.txt", zeroLength: true},
		{method: "PUT", path: "/new.txt", body: str("hello2"), status: 204},
		{method: "PUT", path: "/nodir/new.txt", body: str("x"), status: 500},
		{method: "PUT", path: "/dir/", body: str("x"), status: 409},
		{method: "PUT", path: "/dir", body: str("x"), status: 409},
		{method: "PUT", path: "/empty.txt", status: 500},
		{method: "PUT", path: "/empty2.txt", body: str(""), status: 201, location: "/empty2.txt", zeroLength: true},
		{method: "PUT", path: "/r.txt", fields: []string{"Content-Range: bytes 0-0/1"}, body: str("x"), status: 501},
		{method: "PUT", path: "/full/a/b/c.txt", body: str("abc"), status: 201, location: "/full/a/b/c.txt", zeroLength: true},
		{method: "PUT", path: "/put/big.txt", body: str("01234567890123"), status: 413},
		{method: "PUT", path: "/put/small.txt", body: str("0123"), status: 201, location: "/put/small.txt", zeroLength: true},
		{method: "PUT", path: "/ro/x.txt", body: str("0123"), status: 405},
		{method: "PUT", path: "/dated.txt", fields: []string{"Date: Sun, 06 Nov 1994 08:49:37 GMT"}, body: str("d"), status: 201, location: "/dated.txt", zeroLength: true},
		{method: "PUT", path: "/sp%20ace.txt", body: str("d"), status: 201, location: "/sp%20ace.txt", zeroLength: true},
		{method: "PUT", path: "/al/p.txt", body: str("d"), status: 201, location: "/al/p.txt", zeroLength: true},
		{method: "PUT", path: "/%2e%2e/up.txt", body: str("d"), status: 400},
		// MKCOL
		{method: "MKCOL", path: "/newcol", status: 409},
		{method: "MKCOL", path: "/newcol/", status: 201, location: "/newcol/", zeroLength: true},
		{method: "MKCOL", path: "/newcol/", status: 405},
		{method: "MKCOL", path: "/nope/x/", status: 409},
		{method: "MKCOL", path: "/col2/", body: str("x"), status: 415},
		{method: "MKCOL", path: "/new.txt/", status: 405},
		{method: "MKCOL", path: "/full/m/", status: 201, location: "/full/m/", zeroLength: true},
		{method: "MKCOL", path: "/", status: 405},
		{method: "MKCOL", path: "/al/c/", status: 201, location: "/al/c/", zeroLength: true},
		// DELETE
		{method: "DELETE", path: "/empty2.txt", status: 204},
		{method: "DELETE", path: "/empty2.txt", status: 404},
		{method: "DELETE", path: "/newcol", status: 409},
		{method: "DELETE", path: "/newcol/", fields: []string{"Depth: 1"}, status: 400},
		{method: "DELETE", path: "/newcol/", fields: []string{"Depth: 0"}, status: 400},
		{method: "DELETE", path: "/newcol/", status: 204},
		{method: "DELETE", path: "/new.txt", fields: []string{"Depth: 1"}, status: 400},
		{method: "DELETE", path: "/new.txt", body: str("x"), status: 415},
		{method: "DELETE", path: "/new.txt/", status: 409},
		{method: "DELETE", path: "/new.txt", fields: []string{"Depth: 0"}, status: 204},
		{method: "DELETE", path: "/min/f", status: 409},
		{method: "DELETE", path: "/min/a/", status: 409},
		{method: "DELETE", path: "/min/a/b/f", status: 204},
		{method: "DELETE", path: "/min/a/b/", status: 204},
		{method: "DELETE", path: "/ro/x", status: 405},
		// COPY and MOVE
		{method: "COPY", path: "/s.txt", status: 400},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: /c.txt"}, status: 204},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: /c.txt"}, status: 204},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: /c.txt", "Overwrite: F"}, status: 412},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: /c.txt", "Overwrite: x"}, status: 400},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: http://localhost:1/c2.txt"}, status: 204},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: http://other/c2.txt"}, status: 400},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: https://localhost/c2.txt"}, status: 400},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: http://localhost"}, status: 400},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: /c3/"}, status: 409},
		{method: "COPY", path: "/sd/", fields: []string{"Destination: /sd2/"}, status: 201, zeroLength: true},
		{method: "COPY", path: "/sd/", fields: []string{"Destination: /sd3/", "Depth: 1"}, status: 400},
		{method: "COPY", path: "/sd/", fields: []string{"Destination: /sd3/", "Depth: 0"}, status: 201, zeroLength: true},
		{method: "MOVE", path: "/sd2/", fields: []string{"Destination: /sd4/"}, status: 201, zeroLength: true},
		{method: "MOVE", path: "/sd2/", fields: []string{"Destination: /sd4/", "Depth: 0"}, status: 400},
		{method: "MOVE", path: "/c.txt", fields: []string{"Destination: /m.txt"}, status: 204},
		{method: "MOVE", path: "/c.txt", fields: []string{"Destination: /m.txt"}, status: 404},
		{method: "MOVE", path: "/c2.txt", fields: []string{"Destination: /zz/m.txt"}, status: 204},
		{method: "MOVE", path: "/m.txt", fields: []string{"Destination: /sd4"}, status: 409},
		{method: "COPY", path: "/sd/", fields: []string{"Destination: /sd"}, status: 409},
		{method: "COPY", path: "/sd", fields: []string{"Destination: /sdx"}, status: 400},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: /nodir/x.txt"}, status: 500},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: /%2e%2e/escape.txt"}, status: 400},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: /../escape.txt"}, status: 400},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: /a/../escape.txt"}, status: 400},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: /dir%2Fb.txt"}, status: 204},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: /q.txt?x=1"}, status: 204},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: /q2.txt"}, body: str("x"), status: 415},
		{method: "COPY", path: "/sd3/", fields: []string{"Destination: /sd4/", "Overwrite: F"}, status: 412},
		{method: "COPY", path: "/sd3/", fields: []string{"Destination: /sd4/"}, status: 201, zeroLength: true},
		{method: "COPY", path: "/nosuch.txt", fields: []string{"Destination: /q3.txt"}, status: 404},
		{method: "COPY", path: "/al/x.txt", fields: []string{"Destination: /al/y.txt"}, status: 404},
		{method: "COPY", path: "/al/a.txt", fields: []string{"Destination: /al/y.txt"}, status: 204},
		// fulcrum's own answers where nginx 1.22 is unsafe: a Destination
		// outside the alias prefix (nginx maps "/s2.txt" to "al/x/txt"), a
		// copy onto itself (nginx: 500) or into itself (nginx: loops).
		{method: "COPY", path: "/al/a.txt", fields: []string{"Destination: /s2.txt"}, status: 400},
		{method: "COPY", path: "/s.txt", fields: []string{"Destination: /s.txt"}, status: 403},
		{method: "COPY", path: "/sd/", fields: []string{"Destination: /sd/in/x/"}, status: 403},
		// try_files runs first: a PUT or DELETE of a missing file goes
		// to the fallback, in location / (nginx 1.22.1 did the same).
		{method: "PUT", path: "/t/new.txt", body: str("n"), status: 201, location: "/tfall.txt", zeroLength: true},
		{method: "PUT", path: "/t/s.txt", body: str("s2"), status: 204},
		{method: "DELETE", path: "/t/s.txt", status: 204},
		{method: "DELETE", path: "/t/nope.txt", status: 204},
		// chunked bodies, client_max_body_size counted as they come
		{method: "PUT", path: "/put/chunked.txt", fields: []string{"Transfer-Encoding: chunked"}, body: str("0123"), status: 201, location: "/put/chunked.txt", zeroLength: true},
		{method: "PUT", path: "/put/big2.txt", fields: []string{"Transfer-Encoding: chunked"}, body: str("01234567890123"), status: 413},
		{method: "DELETE", path: "/", status: 403},
		{method: "DELETE", path: "/sd4/", status: 204},
		{method: "DELETE", path: "/dir/", fields: []string{"Depth: infinity"}, status: 204},
	}
	for i, s := range steps {
		t.Run(fmt.Sprintf("%02d %s %s", i, s.method, s.path), func(t *testing.T) {
			resp := davRequest(t, addr, s.method, s.path, s.fields, s.body)
			if resp.StatusCode != s.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, s.status)
			}
			wantLoc := ""
			if s.location != "" {
				wantLoc = here + s.location
			}
			if got := resp.Header.Get("Location"); got != wantLoc {
				t.Errorf("Location %q, want %q", got, wantLoc)
			}
			if got := resp.Header.Get("Content-Length") == "0"; got != s.zeroLength {
				t.Errorf("Content-Length %q", resp.Header.Get("Content-Length"))
			}
		})
	}
	checkDAVTree(t, root)
	// nginx 1.22.1's error log lines for the same requests (the file names
	// are the test's).
	logText, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	for _, want := range []string{
		"[error] ", "cannot PUT to a collection", `"` + root + `/dir" could not be created (21: Is a directory)`,
		"PUT request body must be in a file", "PUT with range is unsupported", "MKCOL can create a collection only",
		`mkdir() "` + root + `/newcol" failed (17: File exists)`, `DELETE "` + root + `/newcol" failed (21: Is a directory)`,
		`"Depth" header must be infinity`, `lstat() "` + root + `/new.txt/" failed (20: Not a directory)`,
		"insufficient URI depth:2 to DELETE", `client sent no "Destination" header`,
		`"Destination" URI "http://other/c2.txt" is handled by different repository than the source URI`,
		`both URI "/s.txt" and "Destination" URI "/c3/" should be either collections or non-collections`,
		`"/m.txt" could not be MOVEed to collection "/sd4"`, `"/sd" is collection`,
		`[crit] `, `open() "` + root + `/nodir/x.txt" failed (2: No such file or directory)`,
		`client sent invalid "Destination" header: "/%2e%2e/escape.txt"`,
	} {
		if !strings.Contains(string(logText), want) {
			t.Errorf("error log lacks %q", want)
		}
	}
}

// checkDAVTree compares the document root after TestDAV's steps with the
// tree nginx 1.22.1 left (names, file modes, and the mtime a PUT's Date
// set); the files its unsafe answers made are not there.
func checkDAVTree(t *testing.T, root string) {
	t.Helper()
	want := []string{
		". 755", "al 755", "al/x 755", "al/x/a.txt 644", "al/x/c 700", "al/x/p.txt 600", "al/x/y.txt 644",
		"dated.txt 600", "full 755", "full/a 775", "full/a/b 775", "full/a/b/c.txt 664", "full/m 775", "m.txt 644",
		"min 755", "min/a 755", "min/f 644", "put 755", "put/chunked.txt 600", "put/small.txt 600", "q.txt 644", "ro 755", "s.txt 644",
		"sd 755", "sd/in 755", "sd/in/q 644", "sd3 755", "sd3/in 755", "sd3/in/q 644",
		"sp ace.txt 600", "t 755", "zz 700", "zz/m.txt 644",
	}
	var got []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		got = append(got, fmt.Sprintf("%s %o", rel, fi.Mode().Perm()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("tree\n%q\nwant\n%q", got, want)
	}
	fi, err := os.Stat(filepath.Join(root, "dated.txt"))
	if err != nil || fi.ModTime().Unix() != 784111777 {
		t.Errorf("dated.txt: %v %v, want the mtime of the PUT's Date", fi.ModTime(), err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "sd3/in/q")); string(b) != "q\n" {
		t.Errorf("copied sd3/in/q holds %q", b)
	}
}

// TestDAVSymlinkEscape checks fulcrum's rule where nginx follows every
// link: a symbolic link below the root that leads out of it is never
// written, deleted or copied through (403), while the outside file stays.
func TestDAVSymlinkEscape(t *testing.T) {
	dir := t.TempDir()
	root, outside := filepath.Join(dir, "root"), filepath.Join(dir, "outside")
	for _, d := range []string{root, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "in.txt"), []byte("i"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "out")); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %[1]s/root;
        location / { dav_methods PUT DELETE MKCOL COPY MOVE; create_full_put_path on; }
    }`, dir))
	tests := []struct {
		method, path string
		fields       []string
		body         *string
		status       int
	}{
		{"PUT", "/out/new.txt", nil, str("x"), 500},
		{"PUT", "/out/sub/new.txt", nil, str("x"), 500},
		{"DELETE", "/out/secret", nil, nil, 403},
		{"MKCOL", "/out/col/", nil, nil, 403},
		{"COPY", "/in.txt", []string{"Destination: /out/copied"}, nil, 403},
		{"MOVE", "/out/secret", []string{"Destination: /stolen"}, nil, 403},
		{"COPY", "/out/secret", []string{"Destination: /stolen"}, nil, 403},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp := davRequest(t, addr, tc.method, tc.path, tc.fields, tc.body)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
	entries, err := os.ReadDir(outside)
	if err != nil || len(entries) != 1 || entries[0].Name() != "secret" {
		t.Errorf("outside the root: %v %v, want only secret", entries, err)
	}
	if _, err := os.Stat(filepath.Join(root, "stolen")); err == nil {
		t.Errorf("the outside file was copied or moved in")
	}
}
