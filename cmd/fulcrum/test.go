package main

import (
	"bufio"
	"fmt"
	"io"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
)

// testConfig runs -t and -T: it loads the configuration, says whether it is valid in
// nginx's words, and for -T dumps every file read to stdout.
func testConfig(o options, p paths, rep *reporter, stdout io.Writer) int {
	cfg, err := loadConfig(o, p, rep)
	if err != nil {
		rep.say("configuration file %s test failed", p.conf)
		return exitFailure
	}
	if !o.quiet {
		rep.say("the configuration file %s syntax is ok", p.conf)
		rep.say("configuration file %s test is successful", p.conf)
	}
	if o.dump {
		if err := dumpFiles(stdout, cfg.Files); err != nil {
			rep.report(errlog.Alert, err.Error())
			return exitFailure
		}
	}
	return exitOK
}

// dumpFiles writes files as nginx -T does: for each, a "# configuration file
// PATH:" line, the file's text as read, and a newline.
func dumpFiles(w io.Writer, files []config.SourceFile) error {
	bw := bufio.NewWriter(w)
	for _, f := range files {
		fmt.Fprintf(bw, "# configuration file %s:\n", f.Path)
		bw.Write(f.Text)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write configuration dump: %w", err)
	}
	return nil
}
