package daemon

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
)

// applyProcess applies the main context's process settings as nginx's
// ngx_worker_process_init does for each worker: the scheduling priority,
// RLIMIT_NOFILE and RLIMIT_CORE (soft and hard), then the working
// directory. prev is the configuration in force (nil at start): on a
// reload only the settings that changed are applied again, and one that
// was removed leaves the process as it is. A failed priority or limit is
// logged at alert in nginx's words and the process carries on; a failed
// chdir is logged at alert and returned (fatal at start, as a worker of
// nginx exits with code 2 then).
func applyProcess(m, prev *config.Main, log *errlog.Logger) error {
	if prev == nil {
		prev = &config.Main{}
	}
	if m.Priority != 0 && m.Priority != prev.Priority {
		if err := setPriority(m.Priority); err != nil {
			log.Logf(errlog.Alert, "setpriority(%d) failed (%s)", m.Priority, errlog.Errno(err))
		}
	}
	setLimit(log, "RLIMIT_NOFILE", syscall.RLIMIT_NOFILE, m.RlimitNofile, prev.RlimitNofile)
	setLimit(log, "RLIMIT_CORE", syscall.RLIMIT_CORE, m.RlimitCore, prev.RlimitCore)
	if m.WorkingDirectory != "" && m.WorkingDirectory != prev.WorkingDirectory {
		if err := os.Chdir(m.WorkingDirectory); err != nil {
			msg := fmt.Sprintf("chdir(%q) failed (%s)", m.WorkingDirectory, errlog.Errno(err))
			log.Logf(errlog.Alert, "%s", msg)
			return fmt.Errorf("working_directory: %s", msg)
		}
	}
	return nil
}

// setLimit sets resource res (named name in the log) to l, soft and
// hard, when l is set and differs from the previous configuration's.
func setLimit(log *errlog.Logger, name string, res int, l, prev config.Limit) {
	if !l.Set || l == prev {
		return
	}
	lim := newRlimit(l.Value)
	if err := syscall.Setrlimit(res, &lim); err != nil {
		log.Logf(errlog.Alert, "setrlimit(%s, %d) failed (%s)", name, l.Value, errlog.Errno(err))
	}
}

// setPriority sets the nice value of every thread of the process: on
// Linux a nice value belongs to a thread (setpriority(PRIO_PROCESS, 0)
// would change only the calling one), and a new thread inherits its
// creator's. It passes over the threads until a pass finds no new one, so
// a thread created during a pass by one not yet changed is caught too.
func setPriority(n int) error {
	done := map[int]bool{}
	for pass := 0; pass < 5; pass++ {
		tids, err := threads()
		if err != nil {
			return syscall.Setpriority(syscall.PRIO_PROCESS, 0, n)
		}
		fresh := 0
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil && err != syscall.ESRCH {
				return err
			}
			done[tid] = true
			fresh++
		}
		if fresh == 0 {
			return nil
		}
	}
	return nil
}

// threads lists the process's thread ids from /proc/self/task (Linux; on
// macOS and FreeBSD there is none, and setPriority's fallback, the whole
// process, is right: a nice value belongs to the process there).
func threads() ([]int, error) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("list threads: %w", err)
	}
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}
