package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
)

// signalByName maps -s names to the signals the running fulcrum acts on, as nginx.
var signalByName = map[string]syscall.Signal{
	"stop":   syscall.SIGTERM, // fast shutdown
	"quit":   syscall.SIGQUIT, // graceful shutdown
	"reload": syscall.SIGHUP,  // reread the configuration
	"reopen": syscall.SIGUSR1, // reopen log files
}

// notRunningHint follows errors that mean fulcrum is probably not running.
const notRunningHint = ", is fulcrum running?"

// signalRunning runs -s: it loads the configuration to find the pid file, reads the
// pid and sends the signal.
func signalRunning(o options, p paths, rep *reporter) int {
	cfg, err := loadConfig(o, p, rep)
	if err != nil {
		return exitFailure
	}
	rep.report(errlog.Notice, "signal process started")
	path := pidFile(cfg, p)
	pid, err := readPID(path)
	if err != nil {
		rep.report(errlog.Error, err.Error())
		return exitFailure
	}
	sig := signalByName[o.signal]
	if err := syscall.Kill(pid, sig); err != nil {
		msg := fmt.Sprintf("kill(%d, %d) failed (%s)", pid, int(sig), errlog.Errno(err))
		if errors.Is(err, syscall.ESRCH) {
			msg += notRunningHint
		}
		rep.report(errlog.Alert, msg)
		return exitFailure
	}
	return exitOK
}

// pidFile is the configuration's pid file. config.Load always sets it; the
// fallback is its documented default, <prefix>/logs/fulcrum.pid.
func pidFile(cfg *config.Config, p paths) string {
	if cfg.Main.PIDFile != "" {
		return cfg.Main.PIDFile
	}
	prefix := p.prefix
	if prefix == "" {
		prefix = filepath.Dir(p.conf)
	}
	return filepath.Join(prefix, "logs", "fulcrum.pid")
}

// readPID reads a pid file: a positive decimal number and an optional newline.
// Its errors are worded as nginx's.
func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		msg := fmt.Sprintf(`open() "%s" failed (%s)`, path, errlog.Errno(err))
		if errors.Is(err, fs.ErrNotExist) {
			msg += notRunningHint
		}
		return 0, errors.New(msg)
	}
	text := strings.TrimRight(string(b), "\r\n")
	pid, err := strconv.Atoi(text)
	if err != nil || pid <= 0 {
		// pid 0 or -1 would signal a whole process group or every process.
		return 0, fmt.Errorf(`invalid PID number "%s" in "%s"`, text, path)
	}
	return pid, nil
}
