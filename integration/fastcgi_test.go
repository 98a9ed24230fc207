package integration

import (
	"bufio"
	"fmt"
	"fulcrum/internal/testutil"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// fcgiApp serves Go's FastCGI responder on network/addr: it answers with
// the parameters Go's fcgi package leaves to the application, sorted, and
// the request line it rebuilt from the others.
func fcgiApp(t *testing.T, network, addr string) string {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/gone.php" {
			w.WriteHeader(http.StatusGone)
			return
		}
		env := fcgi.ProcessEnv(r)
		keys := make([]string, 0, len(env))
		for k := range env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Powered-By", "go")
		fmt.Fprintf(w, "%s %s %s body=%q x-foo=%s\n", r.Method, r.URL.RequestURI(), r.Host, body, r.Header.Get("X-Foo"))
		for _, k := range keys {
			fmt.Fprintf(w, "%s=%s\n", k, env[k])
		}
	}))
	return ln.Addr().String()
}

// scgiApp answers SCGI requests on a TCP address with their params, one
// "NAME=value" line each, in the order they came.
func scgiApp(t *testing.T) string {
	t.Helper()
	return testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		n, err := br.ReadString(':')
		if err != nil {
			return
		}
		size, _ := strconv.Atoi(strings.TrimSuffix(n, ":"))
		head := make([]byte, size+1)
		if _, err := io.ReadFull(br, head); err != nil {
			return
		}
		parts := strings.Split(string(head[:size]), "\x00")
		var out strings.Builder
		for i := 0; i+1 < len(parts); i += 2 {
			fmt.Fprintf(&out, "%s=%s\n", parts[i], parts[i+1])
		}
		fmt.Fprintf(c, "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n%s", out.String())
	})
}

// TestFastCGI runs fulcrum with fastcgi_pass to Go's net/http/fcgi on a
// unix socket and on TCP, with Debian's fastcgi.conf. The expected params
// are what nginx 1.22.1 sent to the same application with the same
// configuration (checked side by side with curl): SCRIPT_FILENAME from
// $document_root$fastcgi_script_name with fastcgi_split_path_info,
// fastcgi_index after a trailing slash, SERVER_SOFTWARE nginx/1.22.1, the
// application's Status passed on, 502 for a dead server with nginx's log
// line, the stderr of an application that fails logged as nginx does, and
// fastcgi_pass with variables naming the upstream block or the socket.
func TestFastCGI(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	dir := t.TempDir()
	sock := fcgiApp(t, "unix", filepath.Join(dir, "php.sock"))
	tcp := fcgiApp(t, "tcp", "127.0.0.1:0")
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	fastcgiConf, err := filepath.Abs("../internal/config/testdata/debian/fastcgi.conf")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, filepath.Join(dir, "www"), map[string]string{"tf/app.php": ""})
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    upstream php { server %[1]s max_fails=1 fail_timeout=60s; server %[2]s; }
    server {
        listen 127.0.0.1:0;
        root %[3]s/www;
        location ~ ^/tf/.+\.php(/|$) {
            fastcgi_split_path_info ^(.+?\.php)(/.*)$;
            try_files $fastcgi_script_name =404;
            set $path_info $fastcgi_path_info;
            fastcgi_param SAVED $path_info;
            fastcgi_param SPLIT_INFO $fastcgi_path_info;
            include %[4]s;
            fastcgi_pass unix:%[5]s;
        }
        location ~ [^/]\.php(/|$) {
            fastcgi_split_path_info ^(.+?\.php)(/.*)$;
            fastcgi_index index.php;
            include %[4]s;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            fastcgi_param SPLIT_INFO $fastcgi_path_info;
            fastcgi_param EMPTY "" if_not_empty;
            fastcgi_pass unix:%[5]s;
        }
        location /dir/ { include %[4]s; fastcgi_index index.php; fastcgi_param SPLIT_SCRIPT $fastcgi_script_name; fastcgi_pass unix:%[5]s; }
        location /balanced/ { include %[4]s; fastcgi_pass php; }
        location /var/ { include %[4]s; set $app php; fastcgi_pass $app; }
        location /varsock/ { include %[4]s; set $app unix:%[5]s; fastcgi_pass $app; }
        location /dead/ { fastcgi_pass %[1]s; }
        location /noparams/ { fastcgi_pass %[2]s; }
        location /scgi/ { scgi_param REQUEST_URI $request_uri; scgi_param SCGI 1; scgi_pass %[6]s; }
    }
}`, deadAddr, tcp, dir, fastcgiConf, sock, scgiApp(t)), 1)
	base := in.url(0)
	tests := []struct {
		name, target string
		status       int
		with         []string
		without      []string
	}{
		{"split path", "/index.php/foo/bar?x=1", 200, []string{
			"GET /index.php/foo/bar?x=1 ", "x-foo=bar\n",
			"SCRIPT_FILENAME=" + dir + "/www/index.php\n", "SPLIT_INFO=/foo/bar\n", "DOCUMENT_URI=/index.php/foo/bar\n",
			"SERVER_SOFTWARE=nginx/1.22.1\n", "GATEWAY_INTERFACE=CGI/1.1\n", "REDIRECT_STATUS=200\n", "DOCUMENT_ROOT=" + dir + "/www\n",
		}, []string{"EMPTY="}},
		{"no path info", "/a.php", 200, []string{"SCRIPT_FILENAME=" + dir + "/www/a.php\n", "SPLIT_INFO=\n"}, nil},
		{"index", "/dir/", 200, []string{"SPLIT_SCRIPT=/dir/index.php\n", "SCRIPT_FILENAME=" + dir + "/www/dir/index.php\n"}, nil},
		// try_files changes $uri to the script: $fastcgi_path_info is empty
		// after it, as in nginx (trac #321), so Debian saves it first.
		{"try_files", "/tf/app.php/x/y", 200, []string{"SCRIPT_FILENAME=" + dir + "/www/tf/app.php\n", "SAVED=/x/y\n", "SPLIT_INFO=\n"}, nil},
		{"try_files without the script", "/tf/none.php/x", 404, nil, nil},
		{"scgi", "/scgi/x?y=1", 200, []string{"CONTENT_LENGTH=0\nREQUEST_URI=/scgi/x?y=1\nSCGI=1\n", "HTTP_X_FOO=bar\n"}, nil},
		{"status", "/gone.php", 410, nil, nil},
		{"failover to the live server", "/balanced/x", 200, []string{"GET /balanced/x "}, nil},
		{"dead server", "/dead/x", 502, nil, nil},
		{"upstream block from a variable", "/var/x", 200, []string{"GET /var/x "}, nil},
		{"unix socket from a variable", "/varsock/x", 200, []string{"GET /varsock/x "}, nil},
		{"application error", "/noparams/x", 500, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, http.DefaultClient, base+tc.target, "X-Foo", "bar")
			if status != tc.status {
				t.Fatalf("status %d, want %d; body %q", status, tc.status, body)
			}
			for _, w := range tc.with {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
			for _, w := range tc.without {
				if strings.Contains(body, w) {
					t.Errorf("body has %q:\n%s", w, body)
				}
			}
		})
	}
	for _, line := range []string{
		`connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , request: "GET /dead/x HTTP/1.1", upstream: "fastcgi://` + deadAddr + `"`,
		`FastCGI sent in stderr: "cgi: no REQUEST_METHOD in environment" while reading response header from upstream`,
	} {
		waitFor(t, "log line "+line, func() bool { return in.logged(line) })
	}

	// fulcrum -t knows the directives: no warning, no error.
	r := runFulcrum(t, "-t", "-c", in.conf)
	if r.code != 0 || strings.Contains(r.stderr, "warn") {
		t.Errorf("-t: exit %d\n%s", r.code, r.stderr)
	}
}
