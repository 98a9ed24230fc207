package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// debianWarnings are the warnings Debian's stock nginx.conf and sites-enabled/default
// give: directives fulcrum does not need or does not have yet, nothing that stops it.
var debianWarnings = []string{
	`"user" is ignored`,
	`"load_module" is ignored`,
	`"sendfile" is ignored`,
	`"tcp_nopush" is ignored`,
	`"types_hash_max_size" is ignored`,
	`"ssl_prefer_server_ciphers" is ignored`,
}

func warningMessages(ws []Warning) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Msg
	}
	return out
}

// checkDebianShape checks what Debian's stock configuration means.
func checkDebianShape(t *testing.T, cfg *Config) {
	t.Helper()
	if got := warningMessages(cfg.Warnings); !reflect.DeepEqual(got, debianWarnings) {
		t.Errorf("warnings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(debianWarnings, "\n"))
	}
	m := cfg.Main
	if m.WorkerProcesses != 0 || m.WorkerConnections != 768 || m.PIDFile != "/run/nginx.pid" ||
		len(m.ErrorLogs) != 1 || m.ErrorLogs[0].Path != "/var/log/nginx/error.log" || m.ErrorLogs[0].Level != LevelError {
		t.Errorf("main %+v", m)
	}
	h := cfg.HTTP
	if len(h.Types) < 50 || h.Types["html"] != "text/html" || h.Types["js"] != "application/javascript" || h.Types["png"] != "image/png" {
		t.Errorf("types: %d entries, html=%q js=%q", len(h.Types), h.Types["html"], h.Types["js"])
	}
	if len(h.Servers) != 1 {
		t.Fatalf("%d servers, want the default site", len(h.Servers))
	}
	s := h.Servers[0]
	wantListens := []Listen{
		{Network: "tcp", Addr: "0.0.0.0:80", DefaultServer: true},
		{Network: "tcp", Addr: "[::]:80", DefaultServer: true, IPv6Only: true},
	}
	for i := range s.Listens {
		s.Listens[i].Pos = Pos{}
	}
	if !reflect.DeepEqual(s.Listens, wantListens) {
		t.Errorf("listens %+v", s.Listens)
	}
	if len(s.Names) != 1 || s.Names[0].Name != "_" {
		t.Errorf("names %+v", s.Names)
	}
	st := s.Settings
	if st.Root != "/var/www/html" || !reflect.DeepEqual(st.Index, []string{"index.html", "index.htm", "index.nginx-debian.html"}) ||
		st.DefaultType != "application/octet-stream" || len(st.AccessLogs) != 1 || st.AccessLogs[0].Path != "/var/log/nginx/access.log" ||
		st.AccessLogs[0].Format.Name != "combined" {
		t.Errorf("server settings: root %q index %v type %q logs %+v", st.Root, st.Index, st.DefaultType, st.AccessLogs)
	}
	if len(s.Locations) != 1 || !reflect.DeepEqual(s.Locations[0].Settings.TryFiles, []string{"$uri", "$uri/", "=404"}) {
		t.Errorf("location / %+v", s.Locations)
	}
}

func TestDebianStockConfig(t *testing.T) {
	abs, err := filepath.Abs("testdata/debian/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(abs, LoadOptions{Prefix: "/usr/share/nginx"})
	if err != nil {
		t.Fatal(err)
	}
	checkDebianShape(t, cfg)
	var files []string
	for _, f := range cfg.Files {
		files = append(files, filepath.Base(f.Path))
	}
	want := []string{"nginx.conf", "50-mod-http-echo.conf", "mime.types", "default"}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("files %v, want %v", files, want)
	}
}

// TestDebianWithProxySite adds a typical reverse-proxy site, using Debian's
// proxy_params, to a copy of the stock configuration.
func TestDebianWithProxySite(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/debian")); err != nil {
		t.Fatal(err)
	}
	site := `upstream app {
    server 127.0.0.1:3000;
}
server {
    listen 80;
    server_name app.example.org;
    location / {
        include proxy_params;
        proxy_pass http://app;
    }
}
`
	if err := os.WriteFile(filepath.Join(dir, "sites-enabled", "app"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(filepath.Join(dir, "nginx.conf"), LoadOptions{Prefix: "/usr/share/nginx"})
	if err != nil {
		t.Fatal(err)
	}
	if got := warningMessages(cfg.Warnings); !reflect.DeepEqual(got, debianWarnings) {
		t.Errorf("warnings %q", got)
	}
	h := cfg.HTTP
	if len(h.Servers) != 2 || len(h.Upstreams) != 1 {
		t.Fatalf("%d servers, %d upstreams", len(h.Servers), len(h.Upstreams))
	}
	loc := h.Servers[0].Locations[0]
	var headers []string
	for _, hd := range loc.Settings.ProxySetHeaders {
		headers = append(headers, hd.Name+": "+hd.Value)
	}
	want := []string{"Host: $host", "X-Real-IP: $remote_addr", "X-Forwarded-For: $proxy_add_x_forwarded_for", "X-Forwarded-Proto: $scheme"}
	if !reflect.DeepEqual(headers, want) || loc.Settings.ProxyPass.Upstream != h.Upstreams[0] {
		t.Errorf("headers %q, proxy_pass %+v", headers, loc.Settings.ProxyPass)
	}
}

// TestRealDebianConfig loads the system's /etc/nginx/nginx.conf when nginx-common is
// installed: fulcrum must read it with warnings only.
func TestRealDebianConfig(t *testing.T) {
	const path = "/etc/nginx/nginx.conf"
	if _, err := os.Stat(path); os.IsNotExist(err) {
		t.Skip("no " + path + " on this machine")
	}
	cfg, err := Load(path, LoadOptions{Prefix: "/usr/share/nginx"})
	if err != nil {
		t.Fatalf("fulcrum cannot read the system's nginx configuration: %v", err)
	}
	if cfg.HTTP == nil || len(cfg.HTTP.Servers) == 0 {
		t.Fatalf("no http servers in %s", path)
	}
	for _, w := range cfg.Warnings {
		t.Logf("warning: %s", w)
	}
	if cfg.Files[0].Path != path {
		t.Errorf("first file %q", cfg.Files[0].Path)
	}
}
