//go:build nginxdiff

// Differential tests against a real nginx binary. They are not part of the normal
// suite (they need nginx); run them with
//
//	go test -tags nginxdiff -run Nginx ./internal/router
//
// They fail, not skip, when nginx is missing. Each run generates random server
// blocks and request paths from a fixed seed (-nginxseed to vary it), loads them
// into nginx and into a Router, and compares what each chose.
package router

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/config"
)

var nginxSeed = flag.Uint64("nginxseed", 1, "seed for the generated nginx differential configurations")

// genLoc is a generated location, with the id it answers with.
type genLoc struct {
	id      string
	mod     config.Modifier
	path    string
	proxied bool
	nested  []*genLoc
}

type gen struct {
	r    *rand.Rand
	next int
}

var (
	segments    = []string{"a", "b", "ab", "c"}
	regexShapes = []string{`^/a`, `^/a/`, `b$`, `/b/`, `^/ab`, `a/b`, `^/a/b$`, `\.x$`, `^/c`, `c/?$`, `^/(a|b)/(\w+)`, `^/A`, `B$`}
)

func (g *gen) id() string { g.next++; return "L" + strconv.Itoa(g.next) }

func (g *gen) pathFrom(base string) string {
	p := strings.TrimSuffix(base, "/")
	for range g.r.IntN(3) {
		p += "/" + segments[g.r.IntN(len(segments))]
	}
	if g.r.IntN(4) == 0 && base != "/" {
		p += segments[g.r.IntN(len(segments))] // extend the last segment: "/a" -> "/ab"
	}
	if p == "" || g.r.IntN(2) == 0 {
		p += "/"
	}
	if !strings.HasPrefix(p, base) {
		return base
	}
	return p
}

// level generates the locations of one level below a parent (nil for the server).
func (g *gen) level(parent *genLoc, depth int) []*genLoc {
	var out []*genLoc
	seen := map[string]bool{}
	n := 2 + g.r.IntN(5)
	if depth > 0 {
		n = g.r.IntN(3)
	}
	for range n {
		l := &genLoc{id: g.id()}
		base := "/"
		if parent != nil {
			base = parent.path
		}
		switch k := g.r.IntN(10); {
		case parent != nil && parent.mod >= config.ModRegex, k >= 7:
			l.mod = config.ModRegex
			if g.r.IntN(3) == 0 {
				l.mod = config.ModRegexCaseless
			}
			l.path = regexShapes[g.r.IntN(len(regexShapes))]
		case k == 0 || k == 1:
			l.mod, l.path = config.ModExact, g.pathFrom(base)
		case k == 2:
			l.mod, l.path = config.ModPrefixNoRegex, g.pathFrom(base)
		default:
			l.mod, l.path = config.ModPrefix, g.pathFrom(base)
		}
		key := fmt.Sprint(l.mod == config.ModExact, l.mod >= config.ModRegex, l.path)
		if seen[key] {
			continue
		}
		seen[key] = true
		l.proxied = l.mod < config.ModRegex && strings.HasSuffix(l.path, "/") && g.r.IntN(2) == 0
		if depth < 2 && l.mod != config.ModExact && g.r.IntN(3) == 0 {
			l.nested = g.level(l, depth+1)
		}
		out = append(out, l)
	}
	return out
}

func (g *gen) requestPath() string {
	p := ""
	for range g.r.IntN(5) {
		s := segments[g.r.IntN(len(segments))]
		switch g.r.IntN(8) {
		case 0:
			s = strings.ToUpper(s)
		case 1:
			s += ".x"
		}
		p += "/" + s
	}
	if p == "" || g.r.IntN(3) == 0 {
		p += "/"
	}
	return p
}

func writeLocs(b *strings.Builder, locs []*genLoc, indent string) {
	mods := map[config.Modifier]string{config.ModPrefix: "", config.ModExact: "= ", config.ModPrefixNoRegex: "^~ ", config.ModRegex: "~ ", config.ModRegexCaseless: "~* "}
	for _, l := range locs {
		fmt.Fprintf(b, "%slocation %s%q {\n", indent, mods[l.mod], l.path)
		if l.proxied {
			fmt.Fprintf(b, "%s  proxy_pass http://127.0.0.1:1;\n", indent)
		}
		fmt.Fprintf(b, "%s  return 200 \"%s\";\n", indent, l.id)
		writeLocs(b, l.nested, indent+"  ")
		fmt.Fprintf(b, "%s}\n", indent)
	}
}

func toConfig(locs []*genLoc, ids map[*config.Location]string) []*config.Location {
	var out []*config.Location
	for _, l := range locs {
		c := loc(l.mod, l.path, toConfig(l.nested, ids)...)
		if l.proxied {
			proxied(c)
		}
		ids[c] = l.id
		out = append(out, c)
	}
	return out
}

// runNginx starts nginx with the given http-block body on a free port and returns
// the port; nginx is stopped when the test ends.
func runNginx(t *testing.T, httpBody string) int {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		t.Fatalf("nginx not found in PATH: %v", err)
	}
	probe, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	dir := t.TempDir()
	conf := fmt.Sprintf("events {}\nhttp {\n access_log off;\n client_body_temp_path %[1]s/cb; proxy_temp_path %[1]s/pt;"+
		" fastcgi_temp_path %[1]s/ft; uwsgi_temp_path %[1]s/ut; scgi_temp_path %[1]s/st;\n%[2]s}\n",
		dir, strings.ReplaceAll(httpBody, "PORT", strconv.Itoa(port)))
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"),
		"-g", "daemon off; master_process off; pid "+filepath.Join(dir, "nginx.pid")+";")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			c.Close()
			return port
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not start: %v\n%s\n%s\n%s", err, out, log, conf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ask sends one raw GET and returns the status and either the body or, for a
// redirect, the Location header's path.
func ask(t *testing.T, port int, host, target string) (int, string) {
	t.Helper()
	return askAt(t, "127.0.0.1", port, host, target)
}

// askAt is ask on a given loopback address.
func askAt(t *testing.T, ip string, port int, host, target string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp4", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, host)
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading status for %q: %v", target, err)
	}
	status, _ := strconv.Atoi(strings.Fields(line)[1])
	var location string
	for {
		h, err := br.ReadString('\n')
		if err != nil || h == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(h, "Location: "); ok {
			location = strings.TrimSpace(v)
		}
	}
	body, _ := io.ReadAll(br)
	if status == 301 {
		if i := strings.Index(location, "://"); i >= 0 {
			location = location[i+3:]
			location = location[strings.IndexByte(location, '/'):]
		}
		return status, location
	}
	return status, string(body)
}

func TestNginxLocationDifferential(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(*nginxSeed, 7))}
	const servers, requests = 40, 60
	var body strings.Builder
	var cfg []*config.Server
	ids := map[*config.Location]string{}
	for i := range servers {
		locs := g.level(nil, 0)
		fmt.Fprintf(&body, "server {\n listen 127.0.0.1:PORT;\n server_name s%d;\n", i)
		writeLocs(&body, locs, " ")
		body.WriteString("}\n")
		cfg = append(cfg, &config.Server{
			Listens:   []config.Listen{listen("127.0.0.1:1", false)},
			Names:     names(exactName(fmt.Sprintf("s%d", i))),
			Locations: toConfig(locs, ids),
		})
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	port := runNginx(t, body.String())
	hosts := r.Listeners()[0].Hosts(netip.AddrPort{})
	mismatches := 0
	outcomes := map[int]int{}
	for i := range servers {
		host := fmt.Sprintf("s%d", i)
		for range requests {
			path := g.requestPath()
			status, got := ask(t, port, host, path)
			outcomes[status]++
			m := hosts.Server(host).Server.Location(path)
			want := "404 "
			switch {
			case m.Redirect != "":
				want = "301 " + m.Redirect
			case m.Location != nil:
				want = "200 " + ids[m.Location]
			}
			if have := strconv.Itoa(status) + " " + got; have != want && !(status == 404 && want == "404 ") {
				mismatches++
				t.Errorf("server %s path %q: nginx %q, router %q", host, path, have, want)
			}
		}
	}
	t.Logf("nginx statuses: %v", outcomes)
	if mismatches > 0 {
		t.Logf("configuration:\n%s", body.String())
	}
}

// TestNginxPathDifferential sends random raw paths full of escapes, dots and
// slashes to nginx, which answers with its $uri, and compares with NormalizePath.
func TestNginxPathDifferential(t *testing.T) {
	port := runNginx(t, "server {\n listen 127.0.0.1:PORT;\n location / { return 200 \"$uri\"; }\n}\n")
	r := rand.New(rand.NewPCG(*nginxSeed, 11))
	pieces := []string{"/", "/", ".", "..", "a", "b", "%2e", "%2E", "%2f", "%2F", "%25", "%252e", "%5c", "\\", ";", "%3f", "%23",
		"%00", "%zz", "%2", "%", "%41", "%c3%a9", "+", "~", "%20", "%0a", "%7f", ".%2e", "%2e."}
	outcomes := map[int]int{}
	defer func() { t.Logf("nginx statuses: %v", outcomes) }()
	for range 3000 {
		raw := "/"
		for range r.IntN(8) {
			raw += pieces[r.IntN(len(pieces))]
		}
		status, uri := ask(t, port, "x", raw)
		outcomes[status]++
		got, err := NormalizePath(raw)
		switch {
		case status == 400 && err == nil:
			t.Errorf("%q: nginx 400, NormalizePath %q", raw, got)
		case status == 200 && err != nil:
			t.Errorf("%q: nginx %q, NormalizePath error %v", raw, uri, err)
		case status == 200 && got != uri:
			t.Errorf("%q: nginx %q, NormalizePath %q", raw, uri, got)
		case status != 200 && status != 400:
			t.Errorf("%q: nginx status %d", raw, status)
		}
	}
}

// genName generates a server_name entry of any kind from a small label alphabet,
// with the text nginx reads.
func (g *gen) genName() (config.ServerName, string) {
	labels := []string{"a", "b", "c", "ab"}
	name := labels[g.r.IntN(len(labels))]
	for range g.r.IntN(3) {
		name += "." + labels[g.r.IntN(len(labels))]
	}
	shapes := []string{`^a\.`, `b$`, `^(\w+)\.c$`, `^a`, `^(?<x>[ab]+)\.`, `\.ab\.`, `^c\.c`}
	switch g.r.IntN(6) {
	case 0, 1:
		return exactName(name), name
	case 2:
		return leadName("*." + name), "*." + name
	case 3:
		return trailName(name + ".*"), name + ".*"
	default:
		re := shapes[g.r.IntN(len(shapes))]
		return regexSN(re), "~" + re
	}
}

func (g *gen) genHost() string {
	labels := []string{"a", "b", "c", "ab", "x"}
	h := labels[g.r.IntN(len(labels))]
	for range g.r.IntN(4) {
		h += "." + labels[g.r.IntN(len(labels))]
	}
	switch g.r.IntN(10) {
	case 0:
		h = "." + h
	case 1:
		h = strings.ToUpper(h) + "."
	case 2:
		h += ":80"
	}
	return h
}

// TestNginxServerNameDifferential generates groups of server blocks, each group on
// its own loopback address, and compares the server nginx and the Router choose
// for random hosts.
func TestNginxServerNameDifferential(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(*nginxSeed, 13))}
	const groups, perGroup, requests = 20, 6, 60
	ids := map[*config.Server]string{}
	var body strings.Builder
	body.WriteString("server { listen 127.0.0.1:PORT; return 200; }\n") // for runNginx's readiness probe
	var cfg []*config.Server
	for gi := range groups {
		ip := fmt.Sprintf("127.0.1.%d", gi+1)
		dflt := g.r.IntN(perGroup + 1) // == perGroup: no default_server
		for si := range perGroup {
			id := fmt.Sprintf("G%dS%d", gi, si)
			var ns []config.ServerName
			var texts []string
			for range 1 + g.r.IntN(3) {
				n, text := g.genName()
				ns = append(ns, n)
				texts = append(texts, strconv.Quote(text))
			}
			flag := ""
			if si == dflt {
				flag = " default_server"
			}
			fmt.Fprintf(&body, "server {\n listen %s:PORT%s;\n server_name %s;\n return 200 \"%s\";\n}\n",
				ip, flag, strings.Join(texts, " "), id)
			cfg = append(cfg, &config.Server{
				Listens:   []config.Listen{listen(ip+":1", si == dflt)},
				Names:     ns,
				Locations: []*config.Location{prefix("/")},
			})
			ids[cfg[len(cfg)-1]] = id
		}
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	port := runNginx(t, body.String())
	mismatches := 0
	for gi, l := range r.Listeners() {
		ip := fmt.Sprintf("127.0.1.%d", gi+1)
		if l.Addr != ip+":1" {
			t.Fatalf("listener %d is %s", gi, l.Addr)
		}
		for range requests {
			raw := g.genHost()
			status, got := askAt(t, ip, port, raw, "/")
			host, err := NormalizeHost(raw)
			if err != nil {
				t.Errorf("host %q: nginx %d %q, NormalizeHost error %v", raw, status, got, err)
				continue
			}
			if want := ids[l.Hosts(netip.AddrPort{}).Server(host).Server.Config]; status != 200 || got != want {
				mismatches++
				t.Errorf("%s host %q: nginx %d %q, router %q", ip, raw, status, got, want)
			}
		}
	}
	if mismatches > 0 {
		t.Logf("configuration:\n%s", body.String())
	}
}
