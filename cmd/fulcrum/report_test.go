package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
)

func TestReporter(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "err.log")
	var stderr bytes.Buffer
	rep, err := newReporter(&stderr, logPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(logPath); err != nil {
		t.Fatalf("-e log not created at once: %v", err)
	}
	reportWarnings(rep, []config.Warning{
		{Pos: config.Pos{File: "/c/f.conf", Line: 3}, Msg: `"sendfile" is ignored`},
		{Msg: "no position"},
	})
	rep.report(errlog.Notice, "signal process started")
	rep.report(errlog.Info, "below the early log's level")
	rep.say("plain %s", "line")
	rep.close()
	rep.report(errlog.Emerg, "after close")

	wantStderr := "fulcrum: [warn] \"sendfile\" is ignored in /c/f.conf:3\n" +
		"fulcrum: [warn] no position\n" +
		"fulcrum: plain line\n" +
		"fulcrum: [emerg] after close\n"
	if stderr.String() != wantStderr {
		t.Errorf("stderr %q\nwant   %q", stderr.String(), wantStderr)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	stamp := regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[`)
	var got []string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if !stamp.MatchString(line) {
			t.Errorf("log line %q lacks the time stamp", line)
		}
		_, rest, _ := strings.Cut(line, "[")
		got = append(got, "["+regexp.MustCompile(`\] \d+#0: `).ReplaceAllString(rest, "] "))
	}
	want := []string{`[warn] "sendfile" is ignored in /c/f.conf:3`, "[warn] no position", "[notice] signal process started"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log %q\nwant %q", got, want)
	}

	rep.reopen()
	rep.report(errlog.Error, "reopened")
	rep.close()
	if b, _ := os.ReadFile(logPath); !strings.HasSuffix(string(b), "#0: reopened\n") {
		t.Errorf("log after reopen %q lacks the new line", b)
	}
}

func TestReporterWithoutLog(t *testing.T) {
	for _, path := range []string{"", "stderr"} {
		var stderr bytes.Buffer
		rep, err := newReporter(&stderr, path)
		if err != nil || rep.log != nil {
			t.Fatalf("newReporter(%q) = %+v, %v; want no log", path, rep, err)
		}
		rep.report(errlog.Error, "x")
		rep.reopen()
		if rep.log != nil || stderr.String() != "fulcrum: [error] x\n" {
			t.Errorf("path %q: log %v, stderr %q", path, rep.log, stderr.String())
		}
	}
}
