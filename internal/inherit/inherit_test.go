package inherit

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestEncodeParseRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		socks []Socket
		want  string
	}{
		{"none", nil, ""},
		{"one tcp", []Socket{{"tcp", "127.0.0.1:8080", 3}}, "tcp:127.0.0.1:8080=3;"},
		{"every kind", []Socket{
			{"tcp", "[::1]:443", 3},
			{"udp", "127.0.0.1:53", 4},
			{"unix", "/run/fulcrum.sock", 5},
			{"tcp", "127.0.0.1:0#2", 6}, // a stream block's second ephemeral listen
		}, "tcp:[::1]:443=3;udp:127.0.0.1:53=4;unix:/run/fulcrum.sock=5;tcp:127.0.0.1:0#2=6;"},
		{"same address, two networks", []Socket{{"tcp", "127.0.0.1:53", 3}, {"udp", "127.0.0.1:53", 4}},
			"tcp:127.0.0.1:53=3;udp:127.0.0.1:53=4;"},
		{"= in a unix path", []Socket{{"unix", "/tmp/a=b.sock", 7}}, "unix:/tmp/a=b.sock=7;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.socks)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if got != tt.want {
				t.Fatalf("Encode = %q, want %q", got, tt.want)
			}
			back, err := Parse(got)
			if err != nil {
				t.Fatalf("Parse(%q): %v", got, err)
			}
			if !reflect.DeepEqual(back, tt.socks) {
				t.Fatalf("Parse(%q) = %v, want %v", got, back, tt.socks)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		value string
		want  string // in the error
	}{
		{"tcp:127.0.0.1:80=3", `does not end with ";"`},
		{";", `entry "": no ":" after the network`},
		{"tcp127.0.0.1=3;", `entry "tcp127.0.0.1=3": no ":" after the network`},
		{"tcp:127.0.0.1:80;", `no "=" before the descriptor`},
		{"tcp:127.0.0.1:80=;", `invalid descriptor number ""`},
		{"tcp:127.0.0.1:80=x;", `invalid descriptor number "x"`},
		{"tcp:127.0.0.1:80=-4;", `invalid descriptor number "-4"`},
		{"tcp:127.0.0.1:80=+4;", `invalid descriptor number "+4"`},
		{"tcp:127.0.0.1:80=99999999999999999999;", `invalid descriptor number`},
		{"tcp:127.0.0.1:80=2;", "descriptor 2 of tcp 127.0.0.1:80 is below 3"},
		{":127.0.0.1:80=3;", `invalid network ""`},
		{"tcp:=3;", `invalid address ""`},
		{"tcp:127.0.0.1:80=3;udp:127.0.0.1:53=3;", "descriptor 3 named twice"},
		{"tcp:127.0.0.1:80=3;tcp:127.0.0.1:80=4;", "tcp 127.0.0.1:80 named twice"},
		{"tcp:127.0.0.1:80=3;;", `entry "": no ":"`},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			socks, err := Parse(tt.value)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tt.value, socks)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	tests := []struct {
		name  string
		socks []Socket
		want  string
	}{
		{"; in a path", []Socket{{"unix", "/tmp/a;b", 3}}, `invalid address "/tmp/a;b"`},
		{": in a network", []Socket{{"t:cp", "127.0.0.1:1", 3}}, `invalid network "t:cp"`},
		{"standard stream", []Socket{{"tcp", "127.0.0.1:1", 1}}, "below 3"},
		{"twice", []Socket{{"tcp", "127.0.0.1:1", 3}, {"tcp", "127.0.0.1:1", 4}}, "named twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v, err := Encode(tt.socks); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Encode = %q, %v; want an error saying %q", v, err, tt.want)
			}
		})
	}
}
