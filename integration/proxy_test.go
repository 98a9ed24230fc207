package integration

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

func TestRoundRobinWeights(t *testing.T) {
	a, b, c := startBackend(t, "a"), startBackend(t, "b"), startBackend(t, "c")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    upstream app {
        server %s weight=5;
        server %s;
        server %s;
    }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
    }
}`, a.addr(), b.addr(), c.addr()), 1)
	client := newClient()
	var got []string
	for range 14 {
		code, body := get(t, client, in.url(0)+"/")
		if code != 200 {
			t.Fatalf("status %d: %s", code, body)
		}
		got = append(got, strings.Fields(body)[0])
	}
	// nginx's smooth weighted round robin: a a b a c a a, twice.
	if want := "a a b a c a a a a b a c a a"; strings.Join(got, " ") != want {
		t.Errorf("order %q, want %q", strings.Join(got, " "), want)
	}
}

func TestLocationChoiceNginxExample(t *testing.T) {
	// The example from nginx's documentation of "location".
	in := startFulcrum(t, `
events {}
http {
    server {
        listen 127.0.0.1:0;
        location = / { return 200 "A"; }
        location / { return 200 "B"; }
        location /documents/ { return 200 "C"; }
        location ^~ /images/ { return 200 "D"; }
        location ~* \.(gif|jpg|jpeg)$ { return 200 "E"; }
    }
}`, 1)
	client := newClient()
	tests := []struct{ path, want string }{
		{"/", "A"},
		{"/index.html", "B"},
		{"/documents/document.html", "C"},
		{"/images/1.gif", "D"},
		{"/documents/1.jpg", "E"},
		{"/documents/1.JPG", "E"},
		{"/%64ocuments/x.html", "C"}, // percent-decoded before matching
		{"/images/../documents/2.jpg", "E"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, body := get(t, client, in.url(0)+tt.path)
			if code != 200 || body != tt.want {
				t.Errorf("GET %s = %d %q, want 200 %q", tt.path, code, body, tt.want)
			}
		})
	}
}

func TestVirtualHosts(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	in := startFulcrum(t, `
events {}
http {
    server {
        listen 127.0.0.1:0;
        server_name first.test;
        location / { return 200 "first $server_name"; }
    }
    server {
        listen 127.0.0.1:0;
        server_name www.example.org *.example.org mail.* ~^(?<sub>\w+)\.regex\.test$;
        location / { return 200 "second $host $sub"; }
    }
}`, 1)
	client := newClient()
	tests := []struct{ host, want string }{
		{"first.test", "first first.test"},
		{"WWW.Example.ORG:8080", "second www.example.org "},
		{"a.b.example.org", "second a.b.example.org "},
		{"mail.anything", "second mail.anything "},
		{"foo.regex.test", "second foo.regex.test foo"},
		{"unknown.test", "first first.test"}, // no match: the first server is the default
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			code, body := get(t, client, in.url(0)+"/", "Host", tt.host)
			if code != 200 || body != tt.want {
				t.Errorf("Host %s = %d %q, want 200 %q", tt.host, code, body, tt.want)
			}
		})
	}
}

func TestProxyPassURIAndHeaders(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	b := startBackend(t, "b")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    proxy_set_header X-Level http;
    server {
        listen 127.0.0.1:0;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        location /v1/ { proxy_pass http://%[1]s/api/; }
        location /raw/ { proxy_pass http://%[1]s; }
        location /own/ {
            proxy_set_header X-Own yes;
            proxy_pass http://%[1]s;
        }
    }
}`, b.addr()), 1)
	client := newClient()
	tests := []struct {
		name, path   string
		headers      []string
		wantFirst    string
		wantLines    []string
		wantLineGone []string
	}{
		{"uri replaced", "/v1/users/7?x=%2F&y", nil, "b GET /api/users/7?x=%2F&y",
			[]string{"x-forwarded-for: 127.0.0.1"}, []string{"x-level"}},
		{"no uri part passes the original", "/raw/a%20b/../c?q=1", nil, "b GET /raw/a%20b/../c?q=1", nil, nil},
		{"xff appended", "/raw/", []string{"X-Forwarded-For", "10.0.0.1"}, "b GET /raw/",
			[]string{"x-forwarded-for: 10.0.0.1, 127.0.0.1"}, nil},
		{"one proxy_set_header drops the inherited ones", "/own/", nil, "b GET /own/",
			[]string{"x-own: yes"}, []string{"x-forwarded-for", "x-level"}},
		{"client cannot delete what fulcrum sets", "/raw/", []string{"Connection", "X-Forwarded-For"}, "b GET /raw/",
			[]string{"x-forwarded-for: 127.0.0.1"}, []string{"connection"}},
		{"host is the proxy_pass host", "/raw/", nil, "b GET /raw/", []string{"host: " + b.addr()}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, client, in.url(0)+tt.path, tt.headers...)
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			if firstLine(body) != tt.wantFirst {
				t.Errorf("backend saw %q, want %q", firstLine(body), tt.wantFirst)
			}
			for _, l := range tt.wantLines {
				if !strings.Contains(body, "\n"+l+"\n") {
					t.Errorf("backend headers lack %q:\n%s", l, body)
				}
			}
			for _, l := range tt.wantLineGone {
				if strings.Contains(body, "\n"+l) {
					t.Errorf("backend headers have %q:\n%s", l, body)
				}
			}
		})
	}
}

func TestUpstreamErrors(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	refused := testutil.RefusedAddr(t)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        location /refused/ { proxy_pass http://%s; }
        location /slow/ {
            proxy_read_timeout 200ms;
            proxy_pass http://%s;
        }
    }
}`, refused, strings.TrimPrefix(slow.URL, "http://")), 1)
	client := newClient()
	if code, _ := get(t, client, in.url(0)+"/refused/"); code != http.StatusBadGateway {
		t.Errorf("refused connect: status %d, want 502", code)
	}
	if code, _ := get(t, client, in.url(0)+"/slow/"); code != http.StatusGatewayTimeout {
		t.Errorf("slow upstream: status %d, want 504", code)
	}
	waitFor(t, "the error log to name both causes", func() bool {
		return in.logged("connect() failed (111: Connection refused) while connecting to upstream") &&
			in.logged("upstream timed out")
	})
}

// twoServerConfig proxies / on 127.0.0.1:0 to an upstream of the two addresses.
func twoServerConfig(a, b string) string {
	return fmt.Sprintf(`
events {}
http {
    upstream app {
        server %s;
        server %s;
    }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
    }
}`, a, b)
}

func TestFailoverUnderLoad(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	in := startFulcrum(t, twoServerConfig(a.addr(), b.addr()), 1)
	client := newClient()
	var failures, total atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(in.url(0) + "/")
				total.Add(1)
				if err != nil {
					failures.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failures.Add(1)
				}
			}
		}()
	}
	waitFor(t, "some traffic", func() bool { return total.Load() > 200 })
	a.srv.CloseClientConnections()
	a.srv.Close() // backend a dies under load
	before := total.Load()
	waitFor(t, "traffic after the failure", func() bool { return total.Load() > before+500 })
	close(stop)
	wg.Wait()
	if f := failures.Load(); f != 0 {
		t.Errorf("%d of %d requests failed after a backend died; want 0", f, total.Load())
	}
	t.Logf("%d requests, %d failures", total.Load(), failures.Load())
}

func TestPostNotReplayedAfterSend(t *testing.T) {
	var closerHits atomic.Int64
	closer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		closerHits.Add(1)
		io.ReadAll(r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close() // read the POST, then hang up without answering
		}
	}))
	t.Cleanup(closer.Close)
	good := startBackend(t, "good")
	in := startFulcrum(t, twoServerConfig(strings.TrimPrefix(closer.URL, "http://"), good.addr()), 1)
	client := newClient()
	resp, err := client.Post(in.url(0)+"/user", "text/plain", strings.NewReader("name=ada"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("POST to a backend that hung up: status %d, want 502", resp.StatusCode)
	}
	if n := good.hitCount(); n != 0 {
		t.Errorf("the POST was replayed to the other backend (%d hits)", n)
	}
	// The failed server is now out for fail_timeout: the next POST goes to good.
	resp, err = client.Post(in.url(0)+"/user", "text/plain", strings.NewReader("name=bob"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || firstLine(string(body)) != "good POST /user" {
		t.Errorf("next POST: %d %q, want 200 from good", resp.StatusCode, firstLine(string(body)))
	}
}

func TestMapVariables(t *testing.T) {
	in := startFulcrum(t, `
events {}
http {
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
    map $host $site {
        hostnames;
        default          other;
        example.org      main;
        *.example.org    sub;
        ~^api(?<n>\d+)\. "api-$n";
    }
    server {
        listen 127.0.0.1:0;
        location / { return 200 "$connection_upgrade $site"; }
    }
}`, 1)
	client := newClient()
	tests := []struct {
		name    string
		headers []string
		want    string
	}{
		{"no upgrade header", []string{"Host", "example.org"}, "close main"},
		{"upgrade header", []string{"Host", "a.example.org", "Upgrade", "websocket"}, "upgrade sub"},
		{"regex with capture", []string{"Host", "api7.test"}, "close api-7"},
		{"default", []string{"Host", "elsewhere.test"}, "close other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, client, in.url(0)+"/", tt.headers...)
			if code != 200 || body != tt.want {
				t.Errorf("got %d %q, want 200 %q", code, body, tt.want)
			}
		})
	}
}

func TestProxyPassWithVariables(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    upstream pool_a { server %s; }
    map $http_x_pool $pool {
        default pool_a;
        lit     %s;
    }
    server {
        listen 127.0.0.1:0;
        location /by-name/ { proxy_pass http://$pool; }
        location /with-uri/ { proxy_pass http://$pool/fixed$is_args$args; }
        location /bad/ { proxy_pass http://$http_x_host; }
    }
}`, a.addr(), b.addr()), 1)
	client := newClient()
	tests := []struct {
		name, path string
		headers    []string
		wantCode   int
		wantFirst  string
	}{
		{"upstream name from a map", "/by-name/x?q=1", nil, 200, "a GET /by-name/x?q=1"},
		{"literal address", "/by-name/y", []string{"X-Pool", "lit"}, 200, "b GET /by-name/y"},
		{"URI in the evaluated URL replaces the request URI", "/with-uri/z?k=v", nil, 200, "a GET /fixed?k=v"},
		{"a host name needs a resolver", "/bad/", []string{"X-Host", "example.com"}, 502, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, client, in.url(0)+tt.path, tt.headers...)
			if code != tt.wantCode {
				t.Fatalf("status %d, want %d: %s", code, tt.wantCode, body)
			}
			if tt.wantFirst != "" && firstLine(body) != tt.wantFirst {
				t.Errorf("backend saw %q, want %q", firstLine(body), tt.wantFirst)
			}
		})
	}
	waitFor(t, "the resolver error in the log", func() bool { return in.logged("no resolver defined to resolve example.com") })
}

// TestRequestVariables checks common variables against what nginx answers for
// the same request (checked with shared/tools/nginx-diff).
func TestRequestVariables(t *testing.T) {
	in := startFulcrum(t, `
events {}
http {
    server {
        listen 127.0.0.1:0;
        server_name a.test;
        location /vars { return 200 "$request_method|$request_uri|$uri|$args|$is_args|$host|$server_name|$scheme|$server_protocol|$arg_a|$http_x_y"; }
        location ~ ^/re/(\d+)$ { return 200 "re $1 $uri $args"; }
    }
}`, 1)
	client := newClient()
	tests := []struct {
		path    string
		headers []string
		want    string
	}{
		{"/vars?a=1&b", []string{"Host", "A.Test:8080", "X-Y", "hello"}, "GET|/vars?a=1&b|/vars|a=1&b|?|a.test|a.test|http|HTTP/1.1|1|hello"},
		{"/vars", []string{"Host", "a.test"}, "GET|/vars|/vars|||a.test|a.test|http|HTTP/1.1||"},
		{"/re/42?k=v", []string{"Host", "a.test"}, "re 42 /re/42 k=v"},
		{"/x/../vars?a=%20", []string{"Host", "a.test"}, "GET|/x/../vars?a=%20|/vars|a=%20|?|a.test|a.test|http|HTTP/1.1|%20|"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, in.url(0)+tt.path, nil)
			req.URL.Opaque = strings.SplitN(tt.path, "?", 2)[0] // send the path as written
			for i := 0; i < len(tt.headers); i += 2 {
				if tt.headers[i] == "Host" {
					req.Host = tt.headers[i+1]
				} else {
					req.Header.Set(tt.headers[i], tt.headers[i+1])
				}
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != tt.want {
				t.Errorf("got %d %q, want %q", resp.StatusCode, body, tt.want)
			}
		})
	}
}

// TestRequestRewriteDirectives: proxy_method, proxy_set_body,
// proxy_pass_request_body off, proxy_pass_request_headers off and
// proxy_http_version 1.0 change what the backend receives.
func TestRequestRewriteDirectives(t *testing.T) {
	b := startBackend(t, "b")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        location /method/ { proxy_method PUT; proxy_pass http://%[1]s; }
        location /setbody/ { proxy_set_body "replaced $arg_x"; proxy_pass http://%[1]s; }
        location /nobody/ { proxy_pass_request_body off; proxy_pass http://%[1]s; }
        location /noheaders/ { proxy_pass_request_headers off; proxy_pass http://%[1]s; }
        location /http10/ { proxy_http_version 1.0; proxy_pass http://%[1]s; }
    }
}`, b.addr()), 1)
	client := newClient()
	tests := []struct {
		path                string
		wantFirst, wantLine string
		wantAbsent          string
	}{
		{"/method/", "b PUT /method/", "body: original", ""},
		{"/setbody/?x=7", "b POST /setbody/?x=7", "body: replaced 7", ""},
		{"/nobody/", "b POST /nobody/", "body: ", "original"},
		{"/noheaders/", "b POST /noheaders/", "body: original", "x-client"},
		{"/http10/", "b POST /http10/", "connection: close", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, in.url(0)+tt.path, strings.NewReader("original"))
			req.Header.Set("X-Client", "1")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if firstLine(string(body)) != tt.wantFirst {
				t.Errorf("backend saw %q, want %q", firstLine(string(body)), tt.wantFirst)
			}
			if !strings.Contains(string(body), tt.wantLine) {
				t.Errorf("backend output lacks %q:\n%s", tt.wantLine, body)
			}
			if tt.wantAbsent != "" && strings.Contains(string(body), tt.wantAbsent) {
				t.Errorf("backend output has %q:\n%s", tt.wantAbsent, body)
			}
		})
	}
}

// TestStreamedBodyFraming: a request body that streams to the upstream
// (longer than the 1 MiB fulcrum buffers, or any body under
// proxy_request_buffering off) keeps the client's Content-Length, as nginx
// 1.22.1 sends it (recorded with a 3 MB body, buffering on and off); only a
// chunked body that streams goes chunked. Servers that refuse chunked
// request bodies (411) so still take large uploads.
func TestStreamedBodyFraming(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	type seen struct {
		length int64
		te     []string
		n      int64
	}
	got := make(chan seen, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		got <- seen{r.ContentLength, r.TransferEncoding, n}
	}))
	t.Cleanup(backend.Close)
	upstream := strings.TrimPrefix(backend.URL, "http://")
	in := startFulcrum(t, `
events {}
http {
    client_max_body_size 10m;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://`+upstream+`; }
        location /unbuffered { proxy_request_buffering off; proxy_pass http://`+upstream+`; }
    }
}`, 1)
	big := strings.Repeat("x", 3<<20)
	client := newClient()
	for _, tc := range []struct {
		uri, body  string
		chunked    bool
		wantLength int64 // the upstream's Content-Length; -1: chunked
	}{
		{"/big", big, false, int64(len(big))},
		{"/unbuffered/small", "hello", false, 5},
		{"/unbuffered/big", big, false, int64(len(big))},
		{"/unbuffered/chunked", "hello", true, -1},
		{"/small/chunked", "hello", true, 5}, // buffered whole: its length
	} {
		body := io.Reader(strings.NewReader(tc.body))
		if tc.chunked {
			body = io.MultiReader(body) // no length known: sent chunked
		}
		req, err := http.NewRequest("POST", in.url(0)+tc.uri, body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", tc.uri, resp.StatusCode)
		}
		s := <-got
		chunked := len(s.te) > 0 && s.te[0] == "chunked"
		if s.length != tc.wantLength || chunked != (tc.wantLength < 0) || s.n != int64(len(tc.body)) {
			t.Errorf("%s: upstream got Content-Length %d, Transfer-Encoding %v, %d bytes; want length %d, %d bytes",
				tc.uri, s.length, s.te, s.n, tc.wantLength, len(tc.body))
		}
	}
}
