package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/config"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    options
		wantErr string
	}{
		{"none", nil, options{}, ""},
		{"separate flags", []string{"-t", "-q"}, options{test: true, quiet: true}, ""},
		{"combined flags", []string{"-tq"}, options{test: true, quiet: true}, ""},
		{"dump", []string{"-T"}, options{test: true, dump: true}, ""},
		{"value in next argument", []string{"-c", "a.conf", "-p", "/srv", "-e", "err.log", "-g", "pid x;"},
			options{confFile: "a.conf", prefix: "/srv", errorLog: "err.log", globals: "pid x;"}, ""},
		{"value attached", []string{"-ca.conf", "-p/srv"}, options{confFile: "a.conf", prefix: "/srv"}, ""},
		{"flags then value flag", []string{"-tqc", "a.conf"}, options{test: true, quiet: true, confFile: "a.conf"}, ""},
		{"value flag ends the argument", []string{"-cq"}, options{confFile: "q"}, ""},
		{"last wins", []string{"-c", "a", "-c", "b"}, options{confFile: "b"}, ""},
		{"value may start with a dash", []string{"-c", "-t"}, options{confFile: "-t"}, ""},
		{"signal", []string{"-s", "reload"}, options{signal: "reload"}, ""},
		{"signal attached", []string{"-squit"}, options{signal: "quit"}, ""},
		{"help", []string{"-h"}, options{showVersion: true, showHelp: true}, ""},
		{"question mark", []string{"-?"}, options{showVersion: true, showHelp: true}, ""},
		{"version", []string{"-v"}, options{showVersion: true}, ""},
		{"configure", []string{"-V"}, options{showVersion: true, showConfigure: true}, ""},
		{"unknown flag", []string{"-x"}, options{}, `invalid option: "x"`},
		{"unknown flag in a group", []string{"-tx"}, options{}, `invalid option: "x"`},
		{"no dash", []string{"foo"}, options{}, `invalid option: "foo"`},
		{"lone dash", []string{"-"}, options{}, `invalid option: "-"`},
		{"double dash", []string{"--"}, options{}, `invalid option: "-"`},
		{"missing file", []string{"-c"}, options{}, `option "-c" requires file name`},
		{"empty file", []string{"-c", ""}, options{}, `option "-c" requires file name`},
		{"missing error log", []string{"-t", "-e"}, options{}, `option "-e" requires file name`},
		{"missing prefix", []string{"-p"}, options{}, `option "-p" requires directory name`},
		{"missing globals", []string{"-g"}, options{}, `option "-g" requires parameter`},
		{"missing signal", []string{"-s"}, options{}, `option "-s" requires parameter`},
		{"bad signal", []string{"-s", "restart"}, options{}, `invalid option: "-s restart"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(tt.args)
			if tt.wantErr != "" {
				var ue *usageError
				if !errors.As(err, &ue) || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want usage error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestResolvePaths(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    options
		want paths
	}{
		{"defaults", options{}, paths{conf: defaultConfFile}},
		{"relative conf against cwd", options{confFile: "x/a.conf"}, paths{conf: filepath.Join(cwd, "x/a.conf")}},
		{"relative conf against prefix", options{confFile: "conf/a.conf", prefix: "/srv/f"},
			paths{conf: "/srv/f/conf/a.conf", prefix: "/srv/f"}},
		{"relative prefix against cwd", options{prefix: "p"},
			paths{conf: defaultConfFile, prefix: filepath.Join(cwd, "p")}},
		{"relative error log against prefix", options{prefix: "/srv/f", errorLog: "logs/e.log"},
			paths{conf: defaultConfFile, prefix: "/srv/f", errorLog: "/srv/f/logs/e.log"}},
		{"relative error log against conf dir", options{confFile: "/etc/x/a.conf", errorLog: "e.log"},
			paths{conf: "/etc/x/a.conf", errorLog: "/etc/x/e.log"}},
		{"stderr stays", options{errorLog: "stderr"}, paths{conf: defaultConfFile, errorLog: "stderr"}},
		{"absolute cleaned", options{confFile: "/a/../b/c.conf"}, paths{conf: "/b/c.conf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolvePaths(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReadPID(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		want          int
		wantErr       string
	}{
		{"newline", "1234\n", 1234, ""},
		{"crlf", "1234\r\n", 1234, ""},
		{"bare", "77", 77, ""},
		{"garbage", "abc\n", 0, `invalid PID number "abc" in "%s"`},
		{"empty", "", 0, `invalid PID number "" in "%s"`},
		{"zero would signal the group", "0\n", 0, `invalid PID number "0" in "%s"`},
		{"negative", "-1\n", 0, `invalid PID number "-1" in "%s"`},
		{"missing", "", 0, `open() "%s" failed (2: No such file or directory), is fulcrum running?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".pid")
			if tt.name != "missing" {
				if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := readPID(path)
			if tt.wantErr != "" {
				if want := strings.ReplaceAll(tt.wantErr, "%s", path); err == nil || err.Error() != want {
					t.Fatalf("error %v, want %q", err, want)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestPIDFileDefault(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Main
		p    paths
		want string
	}{
		{"from config", config.Main{PIDFile: "/run/f.pid"}, paths{conf: "/etc/f/f.conf"}, "/run/f.pid"},
		{"prefix default", config.Main{}, paths{conf: "/etc/f/f.conf", prefix: "/srv"}, "/srv/logs/fulcrum.pid"},
		{"conf dir default", config.Main{}, paths{conf: "/etc/f/f.conf"}, "/etc/f/logs/fulcrum.pid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pidFile(&config.Config{Main: tt.cfg}, tt.p); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDumpFiles(t *testing.T) {
	var b bytes.Buffer
	err := dumpFiles(&b, []config.SourceFile{
		{Path: "/c/main.conf", Text: []byte("events {}\ninclude x.conf;\n")},
		{Path: "/c/x.conf", Text: []byte("# no final newline")},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "# configuration file /c/main.conf:\nevents {}\ninclude x.conf;\n\n" +
		"# configuration file /c/x.conf:\n# no final newline\n"
	if b.String() != want {
		t.Errorf("got %q\nwant %q", b.String(), want)
	}
}

func TestRunVersionAndHelp(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		contains []string
	}{
		{[]string{"-v"}, exitOK, []string{"fulcrum version: fulcrum/0.1.0\n"}},
		{[]string{"-V"}, exitOK, []string{"fulcrum version: fulcrum/0.1.0\n", "built with go", "configure arguments:"}},
		{[]string{"-h"}, exitOK, []string{"fulcrum version: fulcrum/0.1.0\n", "Usage: fulcrum [-?hvVtTq]", "fulcrum demo [args]"}},
		{[]string{"-x"}, exitUsage, []string{"fulcrum: invalid option: \"x\"\n"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			for _, s := range tt.contains {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr %q lacks %q", stderr.String(), s)
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}
