package stream

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/mqtt"
	"fulcrum/internal/testutil"
)

// broker is an MQTT server stand-in: it records the CONNECT packet each
// connection sends first (or the bytes that came, when they are not one),
// answers CONNACK, then echoes everything that follows.
type broker struct {
	ln  net.Listener
	mu  sync.Mutex // guards got
	got [][]byte
}

// connack is the broker's answer to a CONNECT: accepted, no session.
var connack = []byte{0x20, 0x02, 0x00, 0x00}

func startBroker(t *testing.T) *broker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &broker{ln: ln}
	testutil.Serve(t, ln, b.serve)
	return b
}

func (b *broker) addr() string { return b.ln.Addr().String() }

func (b *broker) serve(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var buf []byte
	tmp := make([]byte, 4096)
	for {
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		v, total, _ := mqtt.Scan(buf)
		switch {
		case v == mqtt.Done:
			b.record(buf[:total])
			_, _ = c.Write(append(append([]byte{}, connack...), buf[total:]...))
			_, _ = io.Copy(c, c)
			return
		case v == mqtt.Declined:
			b.record(buf)
			_, _ = c.Write(buf)
			_, _ = io.Copy(c, c)
			return
		case err != nil:
			if len(buf) > 0 {
				b.record(buf)
			}
			return
		}
	}
}

func (b *broker) record(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got = append(b.got, append([]byte{}, p...))
}

// received returns what the broker's connections sent first.
func (b *broker) received() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]byte{}, b.got...)
}

// connect is a CONNECT packet of protocol level (4 or 5) with client id,
// and username and password when not "-".
func connect(t testing.TB, level byte, id, user, pass string) []byte {
	t.Helper()
	c := &mqtt.Connect{ProtocolName: "MQTT", Level: level, Flags: 0x02, KeepAlive: 60, ClientID: []byte(id)}
	if level == 5 {
		c.Properties = []byte{0x11, 0, 0, 0, 60} // session expiry 60 s
	}
	if user != "-" {
		c.Set(mqtt.Username, []byte(user))
	}
	if pass != "-" {
		c.Set(mqtt.Password, []byte(pass))
	}
	b, err := c.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rewritten is p with fields set, as mqtt_set_connect would.
func rewritten(t testing.TB, p []byte, kv ...string) []byte {
	t.Helper()
	c, err := mqtt.Parse(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(kv); i += 2 {
		f, _ := mqtt.ParseField(kv[i])
		c.Set(f, []byte(kv[i+1]))
	}
	out, err := c.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// publish is a PUBLISH packet (topic "t", payload "x") a client sends
// after its CONNECT: it must pass unchanged.
var publish = []byte{0x30, 0x04, 0x00, 0x01, 't', 'x'}

// mqttCase is one client of the MQTT tests: what it sends (in writes of
// step bytes, 0: at once), whether it then closes its side, and what it
// should get back (nil: nothing before the proxy closes).
type mqttCase struct {
	name       string
	send       []byte
	step       int
	closeWrite bool
	reply      []byte
	log        string   // the access log line; UP is the broker's address
	broker     [][]byte // what the broker got first; nil: no connection with bytes
	errLine    string
}

// run plays c against the proxy at addr; dir holds s.log and err.log.
func (c mqttCase) run(t *testing.T, addr, dir string, b *broker) {
	t.Helper()
	cl := dial(t, addr)
	step := c.step
	if step <= 0 {
		step = max(len(c.send), 1)
	}
	for rest := c.send; len(rest) > 0; {
		n := min(step, len(rest))
		if _, err := cl.c.Write(rest[:n]); err != nil {
			break
		}
		rest = rest[n:]
		if len(rest) > 0 {
			time.Sleep(2 * time.Millisecond) // separate reads for the proxy
		}
	}
	if c.closeWrite {
		_ = cl.c.(*net.TCPConn).CloseWrite()
	}
	if c.reply != nil {
		got := make([]byte, len(c.reply))
		if _, err := io.ReadFull(cl.r, got); err != nil || !bytes.Equal(got, c.reply) {
			t.Errorf("client got %q (%v), want %q", got, err, c.reply)
		}
	} else if got, _ := io.ReadAll(cl.r); len(got) > 0 {
		t.Errorf("client got %q, want nothing", got)
	}
	cl.c.Close()
	path := filepath.Join(dir, "s.log")
	waitFor(t, "the log line", func() bool { return readFile(t, path) != "" })
	if got, want := readFile(t, path), strings.ReplaceAll(c.log, "UP", b.addr())+"\n"; got != want {
		t.Errorf("log %q, want %q", got, want)
	}
	if c.broker != nil {
		waitFor(t, "the broker's bytes", func() bool { return len(b.received()) == len(c.broker) })
	}
	if got := b.received(); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", c.broker) && !(len(got) == 0 && len(c.broker) == 0) {
		t.Errorf("broker got %q, want %q", got, c.broker)
	}
	if errLog := readFile(t, filepath.Join(dir, "err.log")); !strings.Contains(errLog, c.errLine) {
		t.Errorf("error log %q lacks %q", errLog, c.errLine)
	}
}

// TestMQTTPreread checks mqtt_preread end to end: the CONNECT packet of an
// MQTT 3.1.1 or 5.0 client, whole or over several writes, gives
// $mqtt_preread_clientid and $mqtt_preread_username and reaches the broker
// unchanged, with what follows it; bytes that are not a valid CONNECT
// (another protocol, a bad Remaining Length, another protocol name) leave
// the variables not found and are proxied as they came, as ssl_preread's;
// a client that closes or stays silent ends the session with $status 200
// and nothing proxied; a CONNECT larger than preread_buffer_size ends it
// with 400 as soon as its Remaining Length says so.
func TestMQTTPreread(t *testing.T) {
	v4 := connect(t, 4, "dev1", "alice", "pw")
	v5 := connect(t, 5, "dev5", "-", "-")
	mqisdp := []byte("\x10\x0f\x00\x06MQIsdp\x03\x02\x00\x0a\x00\x01o")
	badLength := []byte{0x10, 0xff, 0xff, 0xff, 0xff, 0x01}
	wrongName := bytes.Replace(connect(t, 4, "dev1", "-", "-"), []byte("MQTT"), []byte("MQTX"), 1)
	big := connect(t, 4, strings.Repeat("x", 100), "-", "-")
	tests := []mqttCase{
		{name: "3.1.1 with username and password", send: append(v4, publish...), reply: append(connack, publish...),
			log: `200 "dev1" "alice" UP`, broker: [][]byte{v4}},
		{name: "5.0 without username, in pieces", send: append(v5, publish...), step: 3, reply: append(connack, publish...),
			log: `200 "dev5" "" UP`, broker: [][]byte{v5}},
		{name: "3.1 (MQIsdp)", send: mqisdp, reply: connack, log: `200 "o" "" UP`, broker: [][]byte{mqisdp}},
		{name: "not MQTT", send: []byte("hello\n"), reply: []byte("hello\n"), log: `200 "-" "-" UP`, broker: [][]byte{[]byte("hello\n")}},
		{name: "a bad Remaining Length", send: badLength, reply: badLength, log: `200 "-" "-" UP`, broker: [][]byte{badLength}},
		{name: "a wrong protocol name", send: wrongName, reply: wrongName, log: `200 "-" "-" UP`, broker: [][]byte{wrongName}},
		{name: "truncated, then the client closes", send: v4[:10], closeWrite: true, log: `200 "-" "-" -`},
		{name: "a silent client", log: `200 "-" "-" -`},
		{name: "larger than the preread buffer", send: big[:8], log: `400 "-" "-" -`,
			errLine: "preread buffer full while prereading client data, client: 127.0.0.1, server: 127.0.0.1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBroker(t)
			dir := t.TempDir()
			_, addr := start(t, load(t, dir, fmt.Sprintf(`
log_format f '$status "$mqtt_preread_clientid" "$mqtt_preread_username" $upstream_addr';
server { listen 127.0.0.1:0; mqtt_preread on; preread_timeout 300ms; preread_buffer_size 64; proxy_pass %s;
         access_log %%DIR%%/s.log f; error_log %%DIR%%/err.log info; }`, b.addr())))
			tt.run(t, addr, dir, b)
		})
	}
}

// TestMQTTPrereadOff checks that the variables are not found without
// mqtt_preread, and with mqtt alone: the packet read for the filter does
// not fill them.
func TestMQTTPrereadOff(t *testing.T) {
	for _, on := range []string{"", "mqtt on;"} {
		t.Run("with "+on, func(t *testing.T) {
			b := startBroker(t)
			dir := t.TempDir()
			_, addr := start(t, load(t, dir, fmt.Sprintf(`
log_format f '$status "$mqtt_preread_clientid" "$mqtt_preread_username" $upstream_addr';
server { listen 127.0.0.1:0; %s proxy_pass %s; access_log %%DIR%%/s.log f; }`, on, b.addr())))
			v4 := connect(t, 4, "dev1", "alice", "-")
			mqttCase{send: v4, reply: connack, log: `200 "-" "-" UP`, broker: [][]byte{v4}}.run(t, addr, dir, b)
		})
	}
}

// TestMQTTReturn is the module's documented example: "mqtt_preread on;
// return $mqtt_preread_clientid;".
func TestMQTTReturn(t *testing.T) {
	dir := t.TempDir()
	_, addr := start(t, load(t, dir, `server { listen 127.0.0.1:0; mqtt_preread on; return $mqtt_preread_clientid; }`))
	for _, tt := range []struct {
		name string
		send []byte
		want string
	}{
		{"3.1.1", connect(t, 4, "sensor-17", "u", "p"), "sensor-17"},
		{"5.0", connect(t, 5, "sensor-5", "-", "-"), "sensor-5"},
		{"not MQTT", []byte("GET / HTTP/1.0\r\n\r\n"), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cl := dial(t, addr)
			if _, err := cl.c.Write(tt.send); err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(cl.r)
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestMQTTHash balances by client id, the module's use case: "hash
// $mqtt_preread_clientid" sends a client id to the same broker every
// time, and different ids over both.
func TestMQTTHash(t *testing.T) {
	one, two := startBroker(t), startBroker(t)
	dir := t.TempDir()
	_, addr := start(t, load(t, dir, fmt.Sprintf(`
upstream brokers { hash $mqtt_preread_clientid; server %s; server %s; }
server { listen 127.0.0.1:0; mqtt_preread on; proxy_pass brokers; }`, one.addr(), two.addr())))
	where := map[string]string{} // client id -> broker address
	for round := 0; round < 3; round++ {
		for i := 0; i < 8; i++ {
			id := fmt.Sprintf("device-%d", i)
			cl := dial(t, addr)
			if _, err := cl.c.Write(connect(t, 4, id, "-", "-")); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(connack))
			if _, err := io.ReadFull(cl.r, got); err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			cl.c.Close()
			b := one
			if n := len(two.received()); n > 0 && bytes.Contains(two.received()[n-1], []byte(id)) {
				b = two
			}
			if prev, ok := where[id]; ok && prev != b.addr() {
				t.Errorf("round %d: %s went to %s, before to %s", round, id, b.addr(), prev)
			}
			where[id] = b.addr()
		}
	}
	if len(one.received()) == 0 || len(two.received()) == 0 {
		t.Errorf("all ids went to one broker: %d and %d sessions", len(one.received()), len(two.received()))
	}
}

// TestMQTTSetConnect checks the mqtt filter: the CONNECT packet reaches
// the broker with mqtt_set_connect's fields set (from variables: the
// preread client id, a map of it), fields added with their flags and the
// Remaining Length recomputed, and what follows it unchanged; a client
// whose first bytes are not a valid CONNECT packet is closed with $status
// 400 and nothing proxied.
func TestMQTTSetConnect(t *testing.T) {
	v4 := connect(t, 4, "dev1", "-", "-")
	v5 := connect(t, 5, "dev2", "alice", "pw")
	will := []byte("\x10\x18\x00\x04MQTT\x04\x06\x00\x3c\x00\x04dev1\x00\x01w\x00\x03bye")
	tests := []mqttCase{
		{name: "3.1.1, fields added", send: append(v4, publish...), reply: append(connack, publish...), log: `200 "dev1" UP`,
			broker: [][]byte{rewritten(t, v4, "clientid", "site-dev1", "username", "dev1", "password", "secret1")}},
		{name: "5.0, fields replaced, byte by byte", send: append(v5, publish...), step: 1, reply: append(connack, publish...), log: `200 "dev2" UP`,
			broker: [][]byte{rewritten(t, v5, "clientid", "site-dev2", "username", "dev2", "password", "other")}},
		{name: "3.1.1 with a will", send: will, reply: connack, log: `200 "dev1" UP`,
			broker: [][]byte{rewritten(t, will, "clientid", "site-dev1", "username", "dev1", "password", "secret1")}},
		{name: "not MQTT", send: []byte("hello\n"), log: `400 "-" -`,
			errLine: "client sent invalid MQTT CONNECT message while prereading client data, client: 127.0.0.1, server: 127.0.0.1:"},
		{name: "a bad Remaining Length", send: []byte{0x10, 0xff, 0xff, 0xff, 0xff, 0x01}, log: `400 "-" -`,
			errLine: "client sent invalid MQTT CONNECT message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBroker(t)
			dir := t.TempDir()
			_, addr := start(t, load(t, dir, fmt.Sprintf(`
log_format f '$status "$mqtt_preread_clientid" $upstream_addr';
map $mqtt_preread_clientid $secret { dev1 secret1; default other; }
server { listen 127.0.0.1:0; mqtt_preread on; mqtt on; proxy_pass %s;
         mqtt_set_connect clientid site-$mqtt_preread_clientid;
         mqtt_set_connect username $mqtt_preread_clientid;
         mqtt_set_connect password $secret;
         access_log %%DIR%%/s.log f; error_log %%DIR%%/err.log info; }`, b.addr())))
			tt.run(t, addr, dir, b)
		})
	}
}

// TestMQTTBuffers checks the filter's bounds: a CONNECT packet larger than
// mqtt_buffers ends the session with $status 400 before any upstream
// connection; a rewritten one larger than mqtt_rewrite_buffer_size ends it
// with 500, and the broker gets nothing; both are logged at error.
func TestMQTTBuffers(t *testing.T) {
	long := connect(t, 4, strings.Repeat("x", 60), "-", "-")
	tests := []struct {
		conf string
		mqttCase
	}{
		{"mqtt_buffers 2 32;", mqttCase{send: long, log: `400 -`,
			errLine: "client sent too large MQTT CONNECT message (74 bytes, mqtt_buffers hold 64) while prereading client data, client: 127.0.0.1"}},
		{"mqtt_buffers 2 64;", mqttCase{send: long, reply: connack, log: `200 UP`, broker: [][]byte{long}}},
		{"mqtt_rewrite_buffer_size 64; mqtt_set_connect username $remote_addr$remote_addr$remote_addr;", mqttCase{send: long, log: `500 UP`,
			errLine: "rewritten MQTT CONNECT message of 103 bytes is larger than the rewrite buffer (64 bytes) while proxying connection, client: 127.0.0.1"}},
		{"mqtt_buffers 1 80; mqtt_set_connect username $remote_addr$remote_addr$remote_addr;", mqttCase{send: long, log: `500 UP`,
			errLine: "rewritten MQTT CONNECT message of 103 bytes is larger than the rewrite buffer (80 bytes)"}},
		{"mqtt_set_connect username $remote_addr;", mqttCase{send: long, reply: connack, log: `200 UP`,
			broker: [][]byte{rewritten(t, long, "username", "127.0.0.1")}}},
	}
	for _, tt := range tests {
		// No "$" in the name: t.TempDir's path has it, and a "$" in an
		// access_log path is a variable.
		t.Run(strings.ReplaceAll(tt.conf, "$", ""), func(t *testing.T) {
			b := startBroker(t)
			dir := t.TempDir()
			_, addr := start(t, load(t, dir, fmt.Sprintf(`
log_format f '$status $upstream_addr';
server { listen 127.0.0.1:0; mqtt on; %s proxy_pass %s;
         access_log %%DIR%%/s.log f; error_log %%DIR%%/err.log info; }`, tt.conf, b.addr())))
			tt.run(t, addr, dir, b)
		})
	}
}
