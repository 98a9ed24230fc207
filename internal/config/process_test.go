package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestProcessSettings checks worker_rlimit_nofile, worker_rlimit_core,
// worker_priority and working_directory against what nginx 1.22.1's
// "nginx -t" accepts and refuses (recorded by running it on each line).
func TestProcessSettings(t *testing.T) {
	full := func(src string) Main { return mustLoad(t, src).Main }
	m := full("worker_rlimit_nofile 30000; worker_rlimit_core 10m; worker_priority -5; working_directory /var/crash;")
	if m.RlimitNofile != (Limit{30000, true}) || m.RlimitCore != (Limit{10 << 20, true}) || m.Priority != -5 || m.WorkingDirectory != "/var/crash" {
		t.Errorf("got %+v", m)
	}
	for src, want := range map[string]Main{
		"":                                      {},
		"worker_rlimit_nofile 0;":               {RlimitNofile: Limit{0, true}},
		"worker_rlimit_core 0;":                 {RlimitCore: Limit{0, true}},
		"worker_rlimit_core 1g;":                {RlimitCore: Limit{1 << 30, true}},
		"worker_priority +3;":                   {Priority: 3},
		"worker_priority 50;":                   {Priority: 50},           // setpriority clamps it to 19
		"worker_priority 0; worker_priority 4;": {Priority: 4},            // 0 is nginx's "not set"
		"working_directory wd;":                 {WorkingDirectory: "wd"}, // relative to the cwd, as nginx
	} {
		m := full(src)
		got := Main{RlimitNofile: m.RlimitNofile, RlimitCore: m.RlimitCore, Priority: m.Priority, WorkingDirectory: m.WorkingDirectory}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %+v, want %+v", src, got, want)
		}
	}
	for _, tt := range []struct{ src, want string }{
		{"worker_priority abc;", `"worker_priority" directive invalid number in nginx.conf:1`},
		{"worker_priority -;", `"worker_priority" directive invalid number in nginx.conf:1`},
		{"worker_priority 3; worker_priority 4;", `"worker_priority" directive is duplicate in nginx.conf:1`},
		{"worker_rlimit_nofile abc;", `"worker_rlimit_nofile" directive invalid number in nginx.conf:1`},
		{"worker_rlimit_nofile -1;", `"worker_rlimit_nofile" directive invalid number in nginx.conf:1`},
		{"worker_rlimit_nofile 1k;", `"worker_rlimit_nofile" directive invalid number in nginx.conf:1`},
		{"worker_rlimit_nofile 10; worker_rlimit_nofile 20;", `"worker_rlimit_nofile" directive is duplicate in nginx.conf:1`},
		{"worker_rlimit_core abc;", `"worker_rlimit_core" directive invalid value in nginx.conf:1`},
		{"working_directory a b;", `invalid number of arguments in "working_directory" directive in nginx.conf:1`},
		{"working_directory /tmp; working_directory /;", `"working_directory" directive is duplicate in nginx.conf:1`},
	} {
		_, err := loadText(t, tt.src)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.src, err, tt.want)
		}
	}
}
