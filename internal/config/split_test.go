package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestSplitClientsErrors checks nginx 1.22.1's messages (nginx -t), and
// fulcrum's refusal of lines nginx misreads.
func TestSplitClientsErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"over 100%", "split_clients $remote_addr $s {\n 50% a;\n 50.01% b;\n}", `percent total is greater than 100% in nginx.conf:3, the percentages add up`},
		{"percent after *", "split_clients $remote_addr $s { * a; 1% b; }", `percent total is greater than 100% in nginx.conf:1`},
		{"one part over 100%", "split_clients $remote_addr $s { 101% a; }", `percent total is greater than 100%`},
		{"zero", "split_clients $remote_addr $s { 0% a; }", `invalid percent value "0%" in nginx.conf:1, write a percentage`},
		{"three decimals", "split_clients $remote_addr $s { 0.010% a; }", `invalid percent value "0.010%"`},
		{"rounds to zero", "split_clients $remote_addr $s { 0.001% a; }", `invalid percent value "0.001%"`},
		{"no %", "split_clients $remote_addr $s { 50 a; }", `invalid percent value "50"`},
		{"only %", "split_clients $remote_addr $s { % a; }", `invalid percent value "%"`},
		{"only a dot", "split_clients $remote_addr $s { .% a; }", `invalid percent value ".%"`},
		{"two dots", "split_clients $remote_addr $s { 1..2% a; }", `invalid percent value "1..2%"`},
		{"negative", "split_clients $remote_addr $s { -1% a; }", `invalid percent value "-1%"`},
		{"two %", "split_clients $remote_addr $s { 5%% a; }", `invalid percent value "5%%"`},
		{"empty", `split_clients $remote_addr $s { "" a; }`, `invalid percent value ""`},
		{"overflow", "split_clients $remote_addr $s { 99999999999999999999% a; }", `invalid percent value "99999999999999999999%"`},
		{"no value", "split_clients $remote_addr $s { 50%; }", `invalid number of the split_clients parameters in nginx.conf:1`},
		{"two values", "split_clients $remote_addr $s { 50% a b; }", `invalid number of the split_clients parameters in nginx.conf:1`},
		{"block in a line", "split_clients $remote_addr $s { 50% a { } }", `unexpected "{" in nginx.conf:1`},
		{"variable without $", "split_clients $remote_addr s { }", `invalid variable name "s" in nginx.conf:1`},
		{"bare $", "split_clients $remote_addr $ { }", `invalid variable name "$" in nginx.conf:1`},
		{"no block", "split_clients $remote_addr $s;", `directive "split_clients" has no opening "{" in nginx.conf:1`},
		{"one argument", "split_clients $remote_addr { }", `invalid number of arguments in "split_clients" directive in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, "http { "+tt.src+" }")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestSplitClientsBounds checks the bounds on the hash scale, computed as
// nginx computes them: each percentage times 0xffffffff / 10000, truncated,
// summed in 32 bits.
func TestSplitClientsBounds(t *testing.T) {
	tests := []struct {
		lines string
		want  []uint32
	}{
		{"50% a; * b;", []uint32{2147483647, 0}},
		{"0.5% a; 2.0% b; * c;", []uint32{21474836, 21474836 + 85899345, 0}},
		{"50% a; 50% b;", []uint32{2147483647, 4294967294}}, // the last hash, 0xffffffff, gets ""
		{"33.33% a; 33.33% b; 33.34% c;", []uint32{1431512599, 2863025198, 4294967294}},
		{"12.% a; .5% b;", []uint32{515396075, 515396075 + 21474836}},
		{"* a; * b;", []uint32{0, 0}},
		{"42949673.96% a;", []uint32{42949672}}, // nginx keeps 32 bits: 1%
	}
	for _, tt := range tests {
		t.Run(tt.lines, func(t *testing.T) {
			cfg := mustLoad(t, "http { split_clients \"${remote_addr}x\" $v { "+tt.lines+" } }")
			sc := cfg.HTTP.SplitClients[0]
			if sc.Source != "${remote_addr}x" || sc.Variable != "v" {
				t.Errorf("source %q variable %q", sc.Source, sc.Variable)
			}
			var got []uint32
			for _, p := range sc.Parts {
				got = append(got, p.Bound)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("bounds %v, want %v", got, tt.want)
			}
		})
	}
}
