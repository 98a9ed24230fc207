// Package inherit encodes and decodes the environment variable through which a
// running fulcrum hands its listening sockets to the new binary it starts on
// SIGUSR2 (nginx's "Upgrading Executable on the Fly"). nginx names only the
// descriptors ("NGINX=4;5;") and matches them by their bound address; fulcrum
// names each one's network and address as its configuration wrote them, so
// that the new process finds the socket of a listen line even where the bound
// address differs (an ephemeral port, "127.0.0.1:0").
//
// The value is a list of entries, each ended by ';':
//
//	FULCRUM_INHERIT=tcp:127.0.0.1:8080=3;udp:127.0.0.1:53=4;unix:/run/fulcrum.sock=5;
//
// An entry is NETWORK ':' ADDRESS '=' FD: the network has no ':', the address
// no ';' (it may have '=': the descriptor follows the last one), and the
// descriptor is a decimal number of at least 3 (0, 1 and 2 are the standard
// streams).
package inherit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// EnvVar is the environment variable the sockets are named in.
const EnvVar = "FULCRUM_INHERIT"

// minFD is the lowest descriptor a socket can be handed as: below are the
// standard streams.
const minFD = 3

// Socket is one handed-over socket.
type Socket struct {
	// Network is the socket's network as Go names it: tcp, udp, unix, unixgram.
	Network string
	// Addr is the address as the configuration wrote it (normalized by the
	// config package), the same string the daemon keys its listeners by.
	Addr string
	// FD is the descriptor number in the new process.
	FD int
}

// Key is "NETWORK ADDR", the form the daemon keys its listeners by.
func (s Socket) Key() string { return s.Network + " " + s.Addr }

// ErrMalformed is wrapped by every error of Parse.
var ErrMalformed = errors.New("malformed " + EnvVar)

// Encode returns the variable's value for socks, in their order. It refuses
// what Parse could not read back: an empty or ':'-holding network, an empty
// or ';'-holding address, a descriptor below 3, and the same descriptor or
// network and address twice.
func Encode(socks []Socket) (string, error) {
	if err := validate(socks); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, s := range socks {
		b.WriteString(s.Network)
		b.WriteByte(':')
		b.WriteString(s.Addr)
		b.WriteByte('=')
		b.WriteString(strconv.Itoa(s.FD))
		b.WriteByte(';')
	}
	return b.String(), nil
}

// Parse reads the variable's value; "" is no socket. Every error wraps
// ErrMalformed and quotes the entry at fault.
func Parse(v string) ([]Socket, error) {
	if v == "" {
		return nil, nil
	}
	if !strings.HasSuffix(v, ";") {
		return nil, fmt.Errorf("%w: %q does not end with \";\"", ErrMalformed, v)
	}
	var socks []Socket
	for _, entry := range strings.Split(strings.TrimSuffix(v, ";"), ";") {
		s, err := parseEntry(entry)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %q: %w", ErrMalformed, entry, err)
		}
		socks = append(socks, s)
	}
	if err := validate(socks); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return socks, nil
}

// parseEntry reads NETWORK:ADDRESS=FD.
func parseEntry(entry string) (Socket, error) {
	network, rest, ok := strings.Cut(entry, ":")
	if !ok {
		return Socket{}, errors.New(`no ":" after the network`)
	}
	i := strings.LastIndexByte(rest, '=')
	if i < 0 {
		return Socket{}, errors.New(`no "=" before the descriptor`)
	}
	addr, num := rest[:i], rest[i+1:]
	fd, err := strconv.Atoi(num)
	if err != nil || num == "" || num[0] < '0' || num[0] > '9' {
		return Socket{}, fmt.Errorf("invalid descriptor number %q", num)
	}
	return Socket{Network: network, Addr: addr, FD: fd}, nil
}

// validate checks each socket and that no descriptor or key repeats.
func validate(socks []Socket) error {
	fds := map[int]bool{}
	keys := map[string]bool{}
	for _, s := range socks {
		switch {
		case s.Network == "" || strings.ContainsAny(s.Network, ":;= "):
			return fmt.Errorf("invalid network %q", s.Network)
		case s.Addr == "" || strings.Contains(s.Addr, ";"):
			return fmt.Errorf("invalid address %q", s.Addr)
		case s.FD < minFD:
			return fmt.Errorf("descriptor %d of %s is below %d", s.FD, s.Key(), minFD)
		case fds[s.FD]:
			return fmt.Errorf("descriptor %d named twice", s.FD)
		case keys[s.Key()]:
			return fmt.Errorf("%s named twice", s.Key())
		}
		fds[s.FD], keys[s.Key()] = true, true
	}
	return nil
}
