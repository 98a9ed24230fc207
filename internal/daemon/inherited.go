package daemon

import (
	"fmt"
	"net"
	"os"
	"sort"

	"fulcrum/internal/errlog"
	"fulcrum/internal/inherit"
)

// InheritEnv is the environment variable that names the sockets a running
// fulcrum hands to the new binary it starts on SIGUSR2 (see package
// inherit). The command line reads it and passes its value as
// Options.Inherited.
const InheritEnv = inherit.EnvVar

// inheritedSet holds the sockets a previous fulcrum handed over, by key
// ("network address" as configured), until the start adopts them or closes
// those its configuration does not use. A nil set holds nothing. Only the
// start's goroutine uses it.
type inheritedSet struct {
	files map[string]*os.File
}

// openInherited makes files of the descriptors value names; "" is no set.
func openInherited(value string) (*inheritedSet, error) {
	socks, err := inherit.Parse(value)
	if err != nil {
		return nil, err
	}
	if len(socks) == 0 {
		return nil, nil
	}
	s := &inheritedSet{files: make(map[string]*os.File, len(socks))}
	for _, sk := range socks {
		s.files[sk.Key()] = os.NewFile(uintptr(sk.FD), sk.Key())
	}
	return s, nil
}

// take returns the inherited socket of key and forgets it (the caller owns
// the file), or nil.
func (s *inheritedSet) take(key string) *os.File {
	if s == nil {
		return nil
	}
	f := s.files[key]
	delete(s.files, key)
	return f
}

// listener adopts the inherited socket of key as a listener, or returns nil
// when there is none.
func (s *inheritedSet) listener(key string) (net.Listener, error) {
	f := s.take(key)
	if f == nil {
		return nil, nil
	}
	defer f.Close() // the listener has a descriptor of its own
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("use inherited socket %s: %w", key, err)
	}
	return ln, nil
}

// closeUnused closes the sockets nothing took, logging each: the new
// configuration has no listen for them (the previous binary keeps serving
// them until it stops).
func (s *inheritedSet) closeUnused(log *errlog.Logger) {
	if s == nil {
		return
	}
	keys := make([]string, 0, len(s.files))
	for key := range s.files {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if log != nil {
			log.Logf(errlog.Notice, "closing inherited socket %s (not in the configuration)", key)
		}
		s.files[key].Close()
		delete(s.files, key)
	}
}
