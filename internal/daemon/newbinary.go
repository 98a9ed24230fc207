package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"

	"fulcrum/internal/errlog"
	"fulcrum/internal/inherit"
)

// Upgrading the executable on the fly (SIGUSR2), as nginx does: the running
// fulcrum renames its pid file to PIDFILE.oldbin and starts the binary at its
// own path with the same arguments, handing it every listening socket (the
// HTTP listeners, TLS ones included, and the stream block's TCP and UDP
// sockets) as inherited descriptors named in FULCRUM_INHERIT. The new process
// adopts those its configuration listens on, binds the others and writes the
// pid file; from then on both accept on the shared sockets until the operator
// stops one of them. If the new process exits while this one runs, the pid
// file is renamed back.

// ignoredChangeBinary is nginx's words for a USR2 that cannot start a new
// binary because two generations already run.
const ignoredChangeBinary = "the changing binary signal is ignored: you should shutdown or terminate before either old or new binary's process"

// oldbinSuffix ends the pid file's name while a new binary runs.
const oldbinSuffix = ".oldbin"

// newBinary is a new binary started by USR2, while it runs.
type newBinary struct {
	pid     int
	path    string // the executable
	pidFile string // the pid file's name before the rename ("": none)
	// unlinked are the unix listeners whose socket files this process
	// must not remove while the new binary uses them.
	unlinked []*net.UnixListener
}

// binaryExit is how a new binary ended, sent to the signal loop.
type binaryExit struct {
	pid   int
	state *os.ProcessState
}

// changeBinary handles USR2: it starts the new binary, unless one runs
// already, or this process is a new binary whose old one still runs.
func (d *Daemon) changeBinary() {
	log := d.logs.error()
	if d.newBinary != nil || (d.parent != 0 && os.Getppid() == d.parent) {
		log.Logf(errlog.Notice, "signal %d (SIGUSR2) received, ignoring", int(syscall.SIGUSR2))
		log.Logf(errlog.Crit, "%s", ignoredChangeBinary)
		return
	}
	log.Logf(errlog.Notice, "signal %d (SIGUSR2) received, changing binary", int(syscall.SIGUSR2))
	log.Logf(errlog.Notice, "changing binary")
	nb, err := d.execNewBinary()
	if err != nil {
		log.Logf(errlog.Alert, "%v", err)
		return
	}
	d.newBinary = nb
	log.Logf(errlog.Notice, "start new binary process %d", nb.pid)
}

// execNewBinary renames the pid file, starts the new binary with the
// sockets, and renames the pid file back when the start fails.
func (d *Daemon) execNewBinary() (*newBinary, error) {
	if len(d.opts.Args) == 0 {
		return nil, errors.New("cannot start a new binary: the command line is unknown")
	}
	exe, err := executable(d.opts.Args[0])
	if err != nil {
		return nil, fmt.Errorf("cannot find the new binary: %w", err)
	}
	nb := &newBinary{path: exe, pidFile: d.current.Load().cfg.Main.PIDFile}
	h, err := d.handover()
	defer closeFiles(h.files)
	if err != nil {
		return nil, err
	}
	value, err := inherit.Encode(h.socks)
	if err != nil {
		return nil, fmt.Errorf("cannot hand the sockets to the new binary: %w", err)
	}
	if nb.pidFile != "" {
		if err := os.Rename(nb.pidFile, nb.pidFile+oldbinSuffix); err != nil {
			return nil, fmt.Errorf("rename() %s to %s failed before executing new binary process %q (%s)", nb.pidFile, nb.pidFile+oldbinSuffix, exe, errlog.Errno(err))
		}
	}
	cmd := &exec.Cmd{
		Path:       exe,
		Args:       d.opts.Args,
		Env:        append(environWithout(InheritEnv), InheritEnv+"="+value),
		ExtraFiles: h.files,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
	}
	if err := cmd.Start(); err != nil {
		err = fmt.Errorf("execve() failed while executing new binary process %q (%s)", exe, errlog.Errno(err))
		if nb.pidFile != "" {
			if rerr := os.Rename(nb.pidFile+oldbinSuffix, nb.pidFile); rerr != nil {
				err = errors.Join(err, fmt.Errorf("rename() %s back to %s failed (%s)", nb.pidFile+oldbinSuffix, nb.pidFile, errlog.Errno(rerr)))
			}
		}
		return nil, err
	}
	nb.pid = cmd.Process.Pid
	for _, ul := range h.unix {
		ul.SetUnlinkOnClose(false) // the socket file is the new binary's too
	}
	nb.unlinked = h.unix
	exits := d.binaryExits
	go func() { // owned by the daemon: it ends when the new binary does
		_ = cmd.Wait()
		exits <- binaryExit{pid: nb.pid, state: cmd.ProcessState}
	}()
	return nb, nil
}

// newBinaryExited handles the end of the new binary: it logs how it ended
// and, as this process serves on, renames the pid file back.
func (d *Daemon) newBinaryExited(e binaryExit) {
	nb := d.newBinary
	if nb == nil || nb.pid != e.pid {
		return
	}
	d.newBinary = nil
	log := d.logs.error()
	log.Logf(errlog.Notice, "new binary process %d %s", e.pid, describeExit(e.state))
	for _, ul := range nb.unlinked {
		ul.SetUnlinkOnClose(true)
	}
	if nb.pidFile == "" {
		return
	}
	if err := os.Rename(nb.pidFile+oldbinSuffix, nb.pidFile); err != nil {
		log.Logf(errlog.Alert, "rename() %s back to %s failed after the new binary process %q exited (%s)", nb.pidFile+oldbinSuffix, nb.pidFile, nb.path, errlog.Errno(err))
		return
	}
	log.Logf(errlog.Notice, "renamed %s back to %s", nb.pidFile+oldbinSuffix, nb.pidFile)
}

// describeExit words a process's end as nginx: "exited with code N", or
// "exited on signal N".
func describeExit(st *os.ProcessState) string {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		s := fmt.Sprintf("exited on signal %d", int(ws.Signal()))
		if ws.CoreDump() {
			s += " (core dumped)"
		}
		return s
	}
	return fmt.Sprintf("exited with code %d", st.ExitCode())
}

// executable is the binary a USR2 starts: arg0 (the command line's program
// name) as a path when it has a '/' (relative ones resolve against the
// working directory, which fulcrum never changes), else looked up in PATH as
// the shell did; failing both, the file this process was started from. It
// is resolved at each USR2, so a binary replaced at that path is the new one.
func executable(arg0 string) (string, error) {
	if strings.Contains(arg0, "/") {
		return arg0, nil
	}
	if p, err := exec.LookPath(arg0); err == nil {
		return p, nil
	}
	return os.Executable()
}

// environWithout is the environment without the variable name.
func environWithout(name string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, name+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// socketsOf returns every socket d listens on, by key: the HTTP listeners
// and the stream and mail blocks'.
func socketsOf(d *Daemon) map[string]syscall.Conn {
	out := d.stream.Sockets()
	for key, sc := range d.mail.Sockets() {
		out[key] = sc
	}
	for key, l := range d.listeners {
		if sc, ok := l.ln.(syscall.Conn); ok {
			out[key] = sc
		}
	}
	return out
}

// handoff is what handover prepared for the new binary.
type handoff struct {
	socks []inherit.Socket
	files []*os.File // the i-th becomes descriptor 3+i in the new binary; the caller closes them
	unix  []*net.UnixListener
}

// handover duplicates every socket for the new binary, in key order.
func (d *Daemon) handover() (handoff, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	conns := socketsOf(d)
	keys := make([]string, 0, len(conns))
	for key := range conns {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	var h handoff
	for i, key := range keys {
		f, err := dupSocket(conns[key], key)
		if err != nil {
			return h, err
		}
		h.files = append(h.files, f)
		network, addr, _ := strings.Cut(key, " ")
		h.socks = append(h.socks, inherit.Socket{Network: network, Addr: addr, FD: 3 + i})
		if ul, ok := conns[key].(*net.UnixListener); ok {
			h.unix = append(h.unix, ul)
		}
	}
	return h, nil
}

// dupSocket duplicates c's descriptor (close-on-exec; os/exec clears it in
// the child). It does not use net's File method: os/exec would put a file
// from it in blocking mode, and the mode belongs to the socket, which this
// process still accepts on.
func dupSocket(c syscall.Conn, name string) (*os.File, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("socket %s: %w", name, err)
	}
	nfd := -1
	var dupErr error
	err = rc.Control(func(fd uintptr) { nfd, dupErr = dupCloexec(fd) })
	if err == nil {
		err = dupErr
	}
	if err != nil {
		return nil, fmt.Errorf("duplicate socket %s: %w", name, err)
	}
	return os.NewFile(uintptr(nfd), name), nil
}

// closeFiles closes files.
func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
