package integration

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// validConf is a configuration every stage of loading accepts without warnings.
const validConf = `events {}
http {
    upstream app {
        server 127.0.0.1:9;
    }
    server {
        listen 127.0.0.1:8080;
        location / {
            proxy_pass http://app;
        }
    }
}
`

// okLines is what -t prints for a valid configuration at path.
func okLines(path string) string {
	return "fulcrum: the configuration file " + path + " syntax is ok\n" +
		"fulcrum: configuration file " + path + " test is successful\n"
}

func TestTestConfigOK(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": validConf})
	conf := filepath.Join(dir, "fulcrum.conf")
	tests := []struct {
		name string
		args []string
	}{
		{"absolute -c", []string{"-t", "-c", conf}},
		{"relative -c under -p", []string{"-t", "-p", dir, "-c", "fulcrum.conf"}},
		{"combined flags and attached value", []string{"-tc" + conf}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runFulcrum(t, tt.args...)
			if r.code != 0 || r.stderr != okLines(conf) || r.stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want 0, %q, nothing", r.code, r.stderr, r.stdout, okLines(conf))
			}
		})
	}
}

// TestTestConfigErrors checks -t on broken configurations. The cases marked
// needsValidation rely on config.Load's directive table and upstream checks.
func TestTestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		// emerg is the nginx part of the [emerg] line; %s is the directory.
		emerg string
		// hint, if set, must follow the nginx part on the same line.
		hint string
	}{
		{"missing semicolon", map[string]string{"fulcrum.conf": "events {}\nhttp {\n    server {\n        listen 127.0.0.1:8080\n    }\n}\n"},
			`unexpected "}" in %s/fulcrum.conf:5`, ""},
		{"unclosed brace", map[string]string{"fulcrum.conf": "events {}\nhttp {\n    server { listen 127.0.0.1:8080; }\n"},
			`unexpected end of file, expecting "}" in %s/fulcrum.conf:4`, ""},
		{"extra closing brace", map[string]string{"fulcrum.conf": "events {}\nhttp {\n}\n}\n"},
			`unexpected "}" in %s/fulcrum.conf:4`, ""},
		{"missing include", map[string]string{"fulcrum.conf": "events {}\ninclude nope.conf;\n"},
			`open() "%s/nope.conf" failed (2: No such file or directory) in %s/fulcrum.conf:2`, ""},
		{"error in included file", map[string]string{
			"fulcrum.conf":  "events {}\nhttp {\n    include conf.d/*.conf;\n}\n",
			"conf.d/a.conf": "server {\n    listen 127.0.0.1:8080\n}\n"},
			`unexpected "}" in %s/conf.d/a.conf:3`, ""},
		{"missing main file", map[string]string{"other.conf": ""},
			`open() "%s/fulcrum.conf" failed (2: No such file or directory)`, ""},
		// needsValidation: pass once config.Load checks directives.
		{"typo'd directive", map[string]string{"fulcrum.conf": "events {}\nhttp {\n    server {\n        listen 127.0.0.1:8080;\n        location / {\n            proxy_pas http://127.0.0.1:9;\n        }\n    }\n}\n"},
			`unknown directive "proxy_pas" in %s/fulcrum.conf:6`, `did you mean "proxy_pass"?`},
		{"misplaced directive", map[string]string{"fulcrum.conf": "events {}\nupstream app {\n    server 127.0.0.1:9;\n}\n"},
			`"upstream" directive is not allowed here in %s/fulcrum.conf:2`, ""},
		{"unknown upstream", map[string]string{"fulcrum.conf": "events {}\nhttp {\n    server {\n        listen 127.0.0.1:8080;\n        location / {\n            proxy_pass http://nope;\n        }\n    }\n}\n"},
			`host not found in upstream "nope" in %s/fulcrum.conf:6`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, t.TempDir(), tt.files)
			conf := filepath.Join(dir, "fulcrum.conf")
			r := runFulcrum(t, "-t", "-c", conf)
			emerg := "fulcrum: [emerg] " + strings.ReplaceAll(tt.emerg, "%s", dir)
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if r.code != 1 || len(lines) != 2 {
				t.Fatalf("exit %d, stderr %q; want 1 and two lines", r.code, r.stderr)
			}
			// The line is nginx's, optionally followed by fulcrum's ", hint".
			if lines[0] != emerg && !strings.HasPrefix(lines[0], emerg+", ") {
				t.Errorf("error line %q, want %q", lines[0], emerg)
			}
			if tt.hint != "" && !strings.HasSuffix(lines[0], tt.hint) {
				t.Errorf("error line %q lacks the hint %q", lines[0], tt.hint)
			}
			if want := "fulcrum: configuration file " + conf + " test failed"; lines[1] != want {
				t.Errorf("last line %q, want %q", lines[1], want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
		})
	}
}

func TestDumpConfig(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	common := "proxy_set_header X-Test yes;\n"
	main := `events {}
http {
    upstream app {
        server 127.0.0.1:9;
    }
    server {
        listen 127.0.0.1:8080;
        location /a/ {
            include common.inc;
            proxy_pass http://app;
        }
        location /b/ {
            include common.inc;
            proxy_pass http://app;
        }
    }
}`
	dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": main, "common.inc": common})
	conf := filepath.Join(dir, "fulcrum.conf")
	r := runFulcrum(t, "-T", "-c", conf)
	want := "# configuration file " + conf + ":\n" + main + "\n" +
		"# configuration file " + filepath.Join(dir, "common.inc") + ":\n" + common + "\n"
	if r.code != 0 || r.stdout != want || r.stderr != okLines(conf) {
		t.Errorf("exit %d\nstdout %q\nwant   %q\nstderr %q", r.code, r.stdout, want, r.stderr)
	}
	r = runFulcrum(t, "-Tq", "-c", conf)
	if r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Errorf("-Tq: exit %d, stdout %q, stderr %q; want the dump alone", r.code, r.stdout, r.stderr)
	}
}

func TestQuiet(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	dir := writeFiles(t, t.TempDir(), map[string]string{"ok.conf": validConf, "bad.conf": "events {\n"})
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"ok is silent", []string{"-t", "-q", "-c", filepath.Join(dir, "ok.conf")}, 0, nil},
		{"errors still shown", []string{"-tq", "-c", filepath.Join(dir, "bad.conf")}, 1,
			[]string{"fulcrum: [emerg] unexpected end of file", "test failed\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runFulcrum(t, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d", r.code, tt.code)
			}
			if tt.contains == nil && r.stderr != "" {
				t.Errorf("stderr %q, want nothing", r.stderr)
			}
			for _, s := range tt.contains {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr %q lacks %q", r.stderr, s)
				}
			}
		})
	}
}

func TestVersionHelpAndUsageErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		stderr   string   // exact, when set
		contains []string // otherwise, each must appear
	}{
		{"version", []string{"-v"}, 0, "fulcrum version: fulcrum/0.1.0\n", nil},
		// -V names what is built in: stream and mail too (it listed "core,
		// events, http, upstream, proxy, error and access logs" alone).
		{"build details", []string{"-V"}, 0, "", []string{"fulcrum version: fulcrum/0.1.0\n", "built with go", "\nTLS support enabled", "\nconfigure arguments: ", "stream, mail", "NGINX Plus's api, health_check"}},
		{"help", []string{"-h"}, 0, "", []string{"Usage: fulcrum [-?hvVtTq] [-s signal] [-p prefix]",
			"-c filename", "-p prefix", "-e filename", "-g directives", "-s signal", "-t  ", "-T  ", "-q  ", "-v  ", "-V  ", "-?,-h", "fulcrum demo"}},
		{"question mark", []string{"-?"}, 0, "", []string{"Usage: fulcrum"}},
		{"unknown flag", []string{"-x"}, 2, "fulcrum: invalid option: \"x\"\n", nil},
		{"unknown flag after good ones", []string{"-tqx"}, 2, "fulcrum: invalid option: \"x\"\n", nil},
		{"argument without dash", []string{"serve"}, 2, "fulcrum: invalid option: \"serve\"\n", nil},
		{"missing file name", []string{"-t", "-c"}, 2, "fulcrum: option \"-c\" requires file name\n", nil},
		{"missing prefix", []string{"-p"}, 2, "fulcrum: option \"-p\" requires directory name\n", nil},
		{"missing directives", []string{"-g"}, 2, "fulcrum: option \"-g\" requires parameter\n", nil},
		{"missing signal", []string{"-s"}, 2, "fulcrum: option \"-s\" requires parameter\n", nil},
		{"invalid signal", []string{"-s", "restart"}, 2, "fulcrum: invalid option: \"-s restart\"\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runFulcrum(t, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, tt.code, r.stderr)
			}
			if tt.contains == nil && r.stderr != tt.stderr {
				t.Errorf("stderr %q, want %q", r.stderr, tt.stderr)
			}
			for _, s := range tt.contains {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
		})
	}
}

func TestStartWithBrokenConfig(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": "events {\n"})
	r := runFulcrum(t, "-c", filepath.Join(dir, "fulcrum.conf"))
	want := "fulcrum: [emerg] unexpected end of file, expecting \"}\" in " + filepath.Join(dir, "fulcrum.conf") + ":2"
	if r.code != 1 || !strings.HasPrefix(r.stderr, want) || strings.Contains(r.stderr, "test failed") {
		t.Errorf("exit %d, stderr %q; want 1 and %q alone", r.code, r.stderr, want)
	}
}

// TestStartOnTakenPort: a listen address another process holds is refused
// in nginx's words (nginx 1.22.1 recorded: `[emerg] bind() to ADDR failed
// (98: Address already in use)`), then what to do, without Go's text of
// the same error after it; exit 1.
func TestStartOnTakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": "events {}\nhttp { server { listen " + addr + "; return 200; } }\n"})
	r := runFulcrum(t, "-c", filepath.Join(dir, "fulcrum.conf"), "-e", "stderr")
	want := "fulcrum: [emerg] bind() to " + addr + " failed (98: Address already in use); another process listens there: stop it or change listen\n"
	if r.code != 1 || !strings.HasSuffix(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
	}
}

// errorLogLine matches one error log line and captures its level and message.
var errorLogLine = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\] \d+#0: (.*)$`)

func TestErrorLogFlag(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	t.Run("created at once for -t", func(t *testing.T) {
		dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": validConf, "logs/.keep": ""})
		r := runFulcrum(t, "-t", "-p", dir, "-c", "fulcrum.conf", "-e", "logs/err.log")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "logs/err.log")); err != nil {
			t.Errorf("error log not created under the prefix: %v", err)
		}
	})
	t.Run("receives the error", func(t *testing.T) {
		dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": "events {}\ninclude nope.conf;\n"})
		log := filepath.Join(dir, "err.log")
		r := runFulcrum(t, "-t", "-c", filepath.Join(dir, "fulcrum.conf"), "-e", log)
		if r.code != 1 {
			t.Fatalf("exit %d, want 1", r.code)
		}
		lines := readLines(log)
		want := fmt.Sprintf(`open() "%s/nope.conf" failed (2: No such file or directory) in %s/fulcrum.conf:2`, dir, dir)
		if len(lines) != 1 {
			t.Fatalf("error log %q, want one line", lines)
		}
		m := errorLogLine.FindStringSubmatch(lines[0])
		if m == nil || m[1] != "emerg" || (m[2] != want && !strings.HasPrefix(m[2], want+", ")) {
			t.Errorf("error log line %q, want [emerg] %s", lines[0], want)
		}
	})
	t.Run("stderr is accepted", func(t *testing.T) {
		dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": validConf})
		conf := filepath.Join(dir, "fulcrum.conf")
		r := runFulcrum(t, "-t", "-c", conf, "-e", "stderr")
		if r.code != 0 || r.stderr != okLines(conf) {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "stderr")); err == nil {
			t.Error(`-e stderr created a file named "stderr"`)
		}
	})
	t.Run("unopenable", func(t *testing.T) {
		dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": validConf})
		conf, log := filepath.Join(dir, "fulcrum.conf"), filepath.Join(dir, "no/such/dir/err.log")
		r := runFulcrum(t, "-t", "-c", conf, "-e", log)
		want := `fulcrum: [alert] could not open error log file: open() "` + log + `" failed (2: No such file or directory)` + "\n" +
			"fulcrum: configuration file " + conf + " test failed\n"
		if r.code != 1 || r.stderr != want {
			t.Errorf("exit %d, stderr %q; want 1, %q", r.code, r.stderr, want)
		}
	})
}

func TestSignalErrors(t *testing.T) {
	t.Parallel() // fulcrum -t and -s runs in their own temp dirs
	deadPID := exitedPID(t)
	tests := []struct {
		name    string
		pidFile *string // content of <prefix>/logs/fulcrum.pid; nil for none
		want    string  // the whole of stderr; %s is the pid file's path
	}{
		{"no pid file", nil,
			"fulcrum: [error] open() \"%s\" failed (2: No such file or directory), is fulcrum running?\n"},
		{"dead pid", ptr(fmt.Sprintf("%d\n", deadPID)),
			fmt.Sprintf("fulcrum: [alert] kill(%d, 1) failed (3: No such process), is fulcrum running?\n", deadPID)},
		{"garbage pid", ptr("not a pid\n"),
			"fulcrum: [error] invalid PID number \"not a pid\" in \"%s\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": validConf})
			pidPath := filepath.Join(dir, "logs", "fulcrum.pid")
			if tt.pidFile != nil {
				writeFiles(t, dir, map[string]string{"logs/fulcrum.pid": *tt.pidFile})
			}
			r := runFulcrum(t, "-s", "reload", "-p", dir, "-c", "fulcrum.conf")
			if want := strings.ReplaceAll(tt.want, "%s", pidPath); r.code != 1 || r.stderr != want {
				t.Errorf("exit %d, stderr %q; want 1, %q", r.code, r.stderr, want)
			}
		})
	}
	t.Run("broken config", func(t *testing.T) {
		dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": "events {\n"})
		r := runFulcrum(t, "-s", "stop", "-c", filepath.Join(dir, "fulcrum.conf"))
		if r.code != 1 || !strings.HasPrefix(r.stderr, "fulcrum: [emerg] unexpected end of file") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
	t.Run("logged to -e", func(t *testing.T) {
		dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": validConf})
		log := filepath.Join(dir, "err.log")
		runFulcrum(t, "-s", "reopen", "-p", dir, "-c", "fulcrum.conf", "-e", log)
		lines := readLines(log)
		if len(lines) != 2 {
			t.Fatalf("error log %q, want two lines", lines)
		}
		for i, want := range []string{"notice", "error"} {
			if m := errorLogLine.FindStringSubmatch(lines[i]); m == nil || m[1] != want {
				t.Errorf("line %d %q, want level %s", i, lines[i], want)
			}
		}
	})
}

// TestSignalSent proves that each -s name sends its signal to the pid in the pid
// file: the receiver is a helper process that records what it gets.
func TestSignalSent(t *testing.T) {
	t.Parallel() // its own process (or signal helper) and temp dir; no upper time bound
	pid, record := startSignalHelper(t)
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"fulcrum.conf":     validConf,
		"logs/fulcrum.pid": strconv.Itoa(pid) + "\n",
	})
	tests := []struct {
		name string
		sig  syscall.Signal
	}{
		{"reload", syscall.SIGHUP},
		{"reopen", syscall.SIGUSR1},
		{"quit", syscall.SIGQUIT},
		{"stop", syscall.SIGTERM},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runFulcrum(t, "-s", tt.name, "-p", dir, "-c", "fulcrum.conf")
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			// Line 0 is "ready"; signal i is line i+1.
			waitFor(t, "the helper to record "+tt.sig.String(), func() bool { return len(readLines(record)) > i+1 })
			if got := readLines(record)[i+1]; got != strconv.Itoa(int(tt.sig)) {
				t.Errorf("helper got signal %s, want %d (%v)", got, int(tt.sig), tt.sig)
			}
		})
	}
}

// TestSignalPIDFileFromConfig needs config.Load to set Main.PIDFile from the pid
// directive (-g or the file) and to apply -g.
func TestSignalPIDFileFromConfig(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": "pid run/f.pid;\n" + validConf})
	tests := []struct {
		name    string
		args    []string
		pidPath string
	}{
		{"pid directive, relative to the prefix", nil, filepath.Join(dir, "run/f.pid")},
		{"pid from -g", []string{"-g", "pid " + filepath.Join(dir, "g.pid") + ";"}, filepath.Join(dir, "g.pid")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := "fulcrum.conf"
			if tt.args != nil { // -g pid conflicts with the file's pid directive
				writeFiles(t, dir, map[string]string{"nopid.conf": validConf})
				conf = "nopid.conf"
			}
			r := runFulcrum(t, append([]string{"-s", "reload", "-p", dir, "-c", conf}, tt.args...)...)
			want := `fulcrum: [error] open() "` + tt.pidPath + `" failed (2: No such file or directory), is fulcrum running?` + "\n"
			if r.code != 1 || r.stderr != want {
				t.Errorf("exit %d, stderr %q; want 1, %q", r.code, r.stderr, want)
			}
		})
	}
}

func TestGlobalDirectives(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": validConf})
	conf := filepath.Join(dir, "fulcrum.conf")
	t.Run("accepted", func(t *testing.T) {
		r := runFulcrum(t, "-t", "-c", conf, "-g", "worker_processes 1;")
		if r.code != 0 || r.stderr != okLines(conf) {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
	// Needs config.Load to parse and validate -g.
	t.Run("errors are in command line", func(t *testing.T) {
		r := runFulcrum(t, "-t", "-c", conf, "-g", "no_such_directive 1;")
		want := `fulcrum: [emerg] unknown directive "no_such_directive" in command line`
		if r.code != 1 || !strings.HasPrefix(r.stderr, want) {
			t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
		}
	})
	// nginx 1.22.1 recorded: -g is parsed before the file, so a directive in
	// both is the file's duplicate, at its line; a block is refused as such.
	withPid := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": "worker_processes 1;\n" + validConf})
	for _, tt := range []struct{ name, conf, g, want string }{
		{"the file's directive is the duplicate", filepath.Join(withPid, "fulcrum.conf"), "worker_processes 2;",
			`fulcrum: [emerg] "worker_processes" directive is duplicate in ` + filepath.Join(withPid, "fulcrum.conf") + ":1\n"},
		{"no blocks", conf, "http {}", "fulcrum: [emerg] block directives are not supported in -g option in command line\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runFulcrum(t, "-t", "-c", tt.conf, "-g", tt.g)
			if r.code != 1 || !strings.HasPrefix(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tt.want)
			}
		})
	}
}

// exitedPID returns the pid of a process that has exited and been reaped.
func exitedPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), exitHelperEnv+"=1")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func ptr[T any](v T) *T { return &v }
