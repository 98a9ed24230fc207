package integration

import (
	"strings"
	"testing"
)

// TestRealIPForwardedEntries: the entries of X-Forwarded-For as nginx 1.22.1
// reads them (each answer recorded with nginx, the peer 127.0.0.1 trusted
// with 10.0.0.0/8): entries are separated by commas and spaces, may carry a
// port (Azure's gateways send "addr:port"), which becomes $remote_port (empty
// without one); an entry that is no address ends the walk but keeps the
// address found before it; IPv4 octets may have leading zeros.
func TestRealIPForwardedEntries(t *testing.T) {
	in := startFulcrum(t, `
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        set_real_ip_from 127.0.0.1;
        set_real_ip_from 10.0.0.0/8;
        real_ip_header X-Forwarded-For;
        real_ip_recursive on;
        location / { return 200 "$remote_addr|$remote_port\n"; }
    }
    server {
        listen 127.0.0.2:0;
        set_real_ip_from 127.0.0.1;
        set_real_ip_from 10.0.0.0/8;
        real_ip_header X-Forwarded-For;
        location / { return 200 "$remote_addr|$remote_port\n"; }
    }
}`, 2)
	// The listeners come in no set order: the recursive server is the one
	// on 127.0.0.1.
	servers := in.listening()
	if strings.HasPrefix(servers[1], "127.0.0.1:") {
		servers[0], servers[1] = servers[1], servers[0]
	}
	const peer = "127.0.0.1|PEER"
	tests := []struct {
		name, xff           string
		recursive, nonrecur string
	}{
		{"plain", "198.51.100.7", "198.51.100.7|", "198.51.100.7|"},
		{"with a port", "198.51.100.7:8080", "198.51.100.7|8080", "198.51.100.7|8080"},
		{"IPv6 with a port", "[2001:db8::1]:443", "2001:db8::1|443", "2001:db8::1|443"},
		{"IPv6 in brackets without a port", "[2001:db8::1]", peer, peer},
		{"port 0", "1.2.3.4:0", peer, peer},
		{"port out of range", "1.2.3.4:99999", peer, peer},
		{"garbage before a trusted hop", "garbage, 10.1.2.3", "10.1.2.3|", "10.1.2.3|"},
		{"trusted hop before garbage", "10.0.0.1, unknown", peer, peer},
		{"separated by a space", "10.1.2.3 198.51.100.7", "198.51.100.7|", "198.51.100.7|"},
		{"space, trusted last", "198.51.100.7 10.1.2.3", "198.51.100.7|", "10.1.2.3|"},
		{"trusted hop with a port", "1.1.1.1, 10.0.0.1:77", "1.1.1.1|", "10.0.0.1|77"},
		{"a tab is part of the entry", "1.2.3.4,\t10.0.0.1", peer, peer},
		{"leading zeros", "01.2.3.4", "1.2.3.4|", "1.2.3.4|"},
		{"hex octet", "0x1.2.3.4", peer, peer},
		{"trailing dot", "1.2.3.4.", peer, peer},
		{"octet over 255", "256.1.1.1", peer, peer},
		{"empty entries around", " , 10.9.9.9 , ", "10.9.9.9|", "10.9.9.9|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range []string{tt.recursive, tt.nonrecur} {
				_, _, body := rawGet(t, servers[i], "/", "X-Forwarded-For: "+tt.xff+"\r\n")
				got := strings.TrimSpace(body)
				if want == peer && strings.HasPrefix(got, "127.0.0.1|") && len(got) > len("127.0.0.1|") {
					got = peer
				}
				if got != want {
					t.Errorf("server %d (recursive %t): got %q, want %q", i, i == 0, got, want)
				}
			}
		})
	}
	// Several fields: read from the last, as one list.
	for i, want := range []string{"1.1.1.1|", "10.0.0.1|"} {
		_, _, body := rawGet(t, servers[i], "/", "X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 10.0.0.1\r\n")
		if got := strings.TrimSpace(body); got != want {
			t.Errorf("two fields, server %d: got %q, want %q", i, got, want)
		}
	}
}
