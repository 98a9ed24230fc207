package config

import (
	"strings"
	"testing"
)

// TestStreamVariableBlocks checks that the stream block's map, geo,
// split_clients and set read as nginx's stream modules do, and that a
// proxy_pass with variables is kept for the stream module to evaluate.
func TestStreamVariableBlocks(t *testing.T) {
	cfg, err := loadText(t, `stream {
		resolver 127.0.0.1:53 valid=5s;
		map $remote_addr $backend { hostnames; volatile; 127.0.0.1 b1; *.example.org b3; ~^10\. b4; default b2; }
		geo $remote_addr $g { ranges; default none; 127.0.0.1-127.0.0.9 loop; }
		split_clients "${remote_addr}x" $half { 50% a; * b; }
		upstream b1 { server 127.0.0.1:9001; }
		server { listen 127.0.0.1:9000; set $who "a $remote_addr"; set $n 1; proxy_pass $backend; }
		server { listen 127.0.0.1:9002; proxy_pass 127.0.0.1:9003; }
	}`)
	if err != nil {
		t.Fatal(err)
	}
	st := cfg.Stream
	if len(st.Maps) != 1 || len(st.Geos) != 1 || len(st.SplitClients) != 1 {
		t.Fatalf("maps %d, geos %d, split_clients %d; want one each", len(st.Maps), len(st.Geos), len(st.SplitClients))
	}
	m := st.Maps[0]
	if m.Variable != "backend" || !m.Hostnames || !m.Volatile || m.Default != "b2" || len(m.Entries) != 3 {
		t.Errorf("map = %+v", m)
	}
	if g := st.Geos[0]; g.Variable != "g" || g.Source != "remote_addr" || !g.Ranges || len(g.Spans) != 1 || g.Default != "none" {
		t.Errorf("geo = %+v", g)
	}
	if sc := st.SplitClients[0]; sc.Variable != "half" || len(sc.Parts) != 2 {
		t.Errorf("split_clients = %+v", sc)
	}
	srv := st.Servers[0]
	if srv.Pass != "$backend" || srv.Upstream != nil {
		t.Errorf("proxy_pass $backend: Pass %q, Upstream %v", srv.Pass, srv.Upstream)
	}
	if len(srv.Sets) != 2 || srv.Sets[0].Name != "who" || srv.Sets[0].Value != "a $remote_addr" || srv.Sets[1].Name != "n" {
		t.Errorf("sets = %+v", srv.Sets)
	}
	if srv.Resolver == nil || srv.Resolver.Valid.Seconds() != 5 {
		t.Errorf("the stream level's resolver is not the server's: %+v", srv.Resolver)
	}
	if other := st.Servers[1]; other.Pass != "" || other.Upstream == nil {
		t.Errorf("literal proxy_pass: Pass %q, Upstream %v", other.Pass, other.Upstream)
	}
}

// TestStreamVariableErrors checks the errors nginx 1.22.1 gives for these
// blocks in stream (its messages, checked with nginx -t).
func TestStreamVariableErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"geo proxy", "geo $g { proxy 127.0.0.1; }", `invalid network "proxy" in nginx.conf:1`},
		{"geo proxy_recursive", "geo $g { proxy_recursive; }", `invalid number of the geo parameters in nginx.conf:1`},
		{"geo network", "geo $g { 10.0.0.300 a; }", `invalid network "10.0.0.300" in nginx.conf:1`},
		{"map variable", "map $remote_addr x { default 1; }", `invalid variable name "x" in nginx.conf:1`},
		{"map default twice", "map $remote_addr $x { default 1; default 2; }", `duplicate default map parameter in nginx.conf:1`},
		{"split percent", "split_clients $remote_addr $x { 101% a; }", `percent total is greater than 100% in nginx.conf:1`},
		{"set name", "server { listen 1; set x 1; proxy_pass 127.0.0.1:9; }", `invalid variable name "x" in nginx.conf:1`},
		{"set in stream level", "set $x 1;", `"set" directive is not allowed here in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, "stream { "+tt.body+" }")
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %q\nwant %q", err, tt.want)
			}
		})
	}
}
