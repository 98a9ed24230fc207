package mqtt

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// str is an MQTT string or binary field: a two-byte length and s.
func str(s string) string { return string([]byte{byte(len(s) >> 8), byte(len(s))}) + s }

// packet is a CONNECT packet with the given variable header and payload,
// its Remaining Length computed.
func packet(parts ...string) []byte {
	body := strings.Join(parts, "")
	return append(appendVarint([]byte{typeConnect}, len(body)), body...)
}

// v4 and v5 are the variable headers of MQTT 3.1.1 and 5.0 with flags and a
// keep alive of 60 (5.0: the properties props, with their length).
func v4(flags byte) string { return str("MQTT") + string([]byte{4, flags, 0, 60}) }
func v5(flags byte, props string) string {
	return str("MQTT") + string([]byte{5, flags, 0, 60}) + string(appendVarint(nil, len(props))) + props
}

// describe prints what Parse read, for comparisons.
func describe(c *Connect) string {
	s := fmt.Sprintf("%s/%d flags=%02x ka=%d id=%q", c.ProtocolName, c.Level, c.Flags, c.KeepAlive, c.ClientID)
	if c.Properties != nil {
		s += fmt.Sprintf(" props=%x", c.Properties)
	}
	if c.Flags&flagWill != 0 {
		s += fmt.Sprintf(" will=%x,%q,%q", c.WillProperties, c.WillTopic, c.WillPayload)
	}
	if c.HasUsername {
		s += fmt.Sprintf(" user=%q", c.Username)
	}
	if c.HasPassword {
		s += fmt.Sprintf(" pass=%q", c.Password)
	}
	return s
}

// TestParse reads valid CONNECT packets of MQTT 3.1, 3.1.1 and 5.0, and
// refuses the malformed ones, with the rule each breaks.
func TestParse(t *testing.T) {
	sessionExpiry := "\x11\x00\x00\x00\x3c"
	userProp := "\x26" + str("k") + str("v")
	tests := []struct {
		name string
		in   []byte
		want string // describe's, or the error's end
	}{
		{"3.1.1 client id only", packet(v4(0x02), str("dev1")), `MQTT/4 flags=02 ka=60 id="dev1"`},
		{"3.1.1 username and password", packet(v4(0xc2), str("dev1"), str("alice"), str("s3cret")), `MQTT/4 flags=c2 ka=60 id="dev1" user="alice" pass="s3cret"`},
		{"3.1.1 will", packet(v4(0x2e|0x80), str("dev1"), str("t/last"), str("bye"), str("bob")), `MQTT/4 flags=ae ka=60 id="dev1" will=,"t/last","bye" user="bob"`},
		{"3.1.1 empty client id", packet(v4(0x02), str("")), `MQTT/4 flags=02 ka=60 id=""`},
		{"3.1", packet(str("MQIsdp"), "\x03\x02\x00\x0a", str("old")), `MQIsdp/3 flags=02 ka=10 id="old"`},
		{"5.0 no properties", packet(v5(0x02, ""), str("dev5")), `MQTT/5 flags=02 ka=60 id="dev5" props=`},
		{"5.0 properties, will, password alone", packet(v5(0x46, sessionExpiry+userProp), str("dev5"), string(appendVarint(nil, 5))+"\x18\x00\x00\x00\x05", str("w"), str("p"), str("pw")),
			`MQTT/5 flags=46 ka=60 id="dev5" props=110000003c2600016b000176 will=1800000005,"w","p" pass="pw"`},
		{"a long packet (two-byte Remaining Length)", packet(v4(0x02), str(strings.Repeat("x", 300))), `MQTT/4 flags=02 ka=60 id="` + strings.Repeat("x", 300) + `"`},

		{"not CONNECT", append([]byte{0x20}, packet(v4(2), str("a"))[1:]...), "not a CONNECT packet"},
		{"CONNECT with fixed header flags", append([]byte{0x11}, packet(v4(2), str("a"))[1:]...), "not a CONNECT packet"},
		{"Remaining Length of five bytes", []byte{0x10, 0xff, 0xff, 0xff, 0xff, 0x01}, "longer than four bytes"},
		{"Remaining Length not minimal", append([]byte{0x10, 0x8e, 0x00}, packet(v4(2), str("a"))[2:]...), "longer than its value needs"},
		{"Remaining Length cut short", []byte{0x10, 0x80}, "cut short"},
		{"packet shorter than its Remaining Length", packet(v4(2), str("a"))[:10], "says 13 bytes, 8 came"},
		{"bytes after the last field", packet(v4(2), str("a"), "zz"), "2 bytes follow the last field"},
		{"truncated client id", packet(v4(2), "\x00\x05ab"), "the client identifier runs past the packet"},
		{"wrong protocol name", packet(str("MQTX"), "\x04\x02\x00\x0a", str("a")), `unknown protocol "MQTX" level 4`},
		{"MQTT level 3", packet(str("MQTT"), "\x03\x02\x00\x0a", str("a")), `unknown protocol "MQTT" level 3`},
		{"reserved flag", packet(v4(0x03), str("a")), "the reserved connect flag is set"},
		{"will QoS without will", packet(v4(0x0a), str("a")), "without the will flag"},
		{"will QoS 3", packet(v4(0x1e), str("a"), str("t"), str("m")), "will QoS 3"},
		{"3.1.1 password without username", packet(v4(0x42), str("a"), str("p")), "password flag without the username flag"},
		{"client id not UTF-8", packet(v4(2), str("\xff")), "not a valid UTF-8 string"},
		{"client id with U+0000", packet(v4(2), str("a\x00")), "not a valid UTF-8 string"},
		{"username flag, no username", packet(v4(0x82), str("a")), "the username runs past the packet"},
		{"unknown 5.0 property", packet(v5(2, "\x99\x00"), str("a")), "property 0x99 in the properties"},
		{"will property in CONNECT's", packet(v5(2, "\x18\x00\x00\x00\x01"), str("a")), "property 0x18 in the properties"},
		{"5.0 property cut short", packet(v5(2, "\x11\x00\x00"), str("a")), "the properties runs past the packet"},
		{"5.0 properties past the packet", packet(str("MQTT"), "\x05\x02\x00\x0a\x09\x11"), "the properties runs past the packet"},
		{"empty", nil, "not a CONNECT packet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.in)
			if err != nil {
				if !errors.Is(err, ErrMalformed) || !strings.HasSuffix(err.Error(), tt.want) {
					t.Fatalf("error %v, want one ending %q", err, tt.want)
				}
				return
			}
			if got := describe(c); got != tt.want {
				t.Fatalf("got %s\nwant %s", got, tt.want)
			}
			out, err := c.Append(nil)
			if err != nil || !bytes.Equal(out, tt.in) {
				t.Errorf("Append gave %x, %v; want the input %x", out, err, tt.in)
			}
		})
	}
}

// TestScan decides on bytes as they come, one at a time: early for bytes
// that cannot be a CONNECT, at the packet's end for the others.
func TestScan(t *testing.T) {
	whole := packet(v4(0xc2), str("dev1"), str("alice"), str("pw"))
	tests := []struct {
		name  string
		in    []byte
		v     Verdict
		at    int // the length at which the verdict came
		total int
	}{
		{"a CONNECT", whole, Done, len(whole), len(whole)},
		{"a CONNECT and more", append(append([]byte{}, whole...), 0xc0, 0), Done, len(whole), len(whole)},
		{"an HTTP request", []byte("GET / HTTP/1.1\r\n\r\n"), Declined, 1, 0},
		{"a TLS ClientHello", []byte{0x16, 3, 1, 0, 0x50}, Declined, 1, 0},
		{"a wrong protocol name", packet(str("AMQP"), "\x04\x02\x00\x0a", str("a")), Declined, 5, 15},
		{"a bad Remaining Length", []byte{0x10, 0xff, 0xff, 0xff, 0xff}, Declined, 5, 0},
		{"malformed at its end", packet(v4(0x03), str("a")), Declined, 15, 15},
		{"cut short", whole[:20], More, 20, len(whole)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for n := 0; n <= len(tt.in); n++ {
				v, total, c := Scan(tt.in[:n])
				if v == More && n < len(tt.in) {
					continue
				}
				if v != tt.v || n != tt.at || total != tt.total || (v == Done) != (c != nil) {
					t.Fatalf("at %d bytes: %v total %d (packet %v), want %v at %d total %d", n, v, total, c != nil, tt.v, tt.at, tt.total)
				}
				return
			}
		})
	}
}

// TestSet replaces and adds fields (mqtt_set_connect): the flags follow,
// the Remaining Length is recomputed (across its one-byte limit too), and
// what is not set is kept byte for byte.
func TestSet(t *testing.T) {
	props := "\x11\x00\x00\x00\x3c"
	willProps := string(appendVarint(nil, 2)) + "\x01\x01"
	tests := []struct {
		name string
		in   []byte
		set  []struct {
			f Field
			v string
		}
		want []byte
	}{
		{"3.1.1 client id replaced", packet(v4(0x02), str("dev1")), sets(ClientID, "other"), packet(v4(0x02), str("other"))},
		{"3.1.1 username added", packet(v4(0x02), str("dev1")), sets(Username, "dev1"), packet(v4(0x82), str("dev1"), str("dev1"))},
		{"3.1.1 password alone adds an empty username", packet(v4(0x02), str("dev1")), sets(Password, "pw"), packet(v4(0xc2), str("dev1"), str(""), str("pw"))},
		{"3.1.1 all replaced, will kept", packet(v4(0xe6), str("a"), str("t"), str("m"), str("u"), str("p")),
			sets(ClientID, "b", Username, "v", Password, "q"), packet(v4(0xe6), str("b"), str("t"), str("m"), str("v"), str("q"))},
		{"5.0 password alone", packet(v5(0x02, props), str("dev5")), sets(Password, "pw"), packet(v5(0x42, props), str("dev5"), str("pw"))},
		{"5.0 with will properties", packet(v5(0x06, props), str("a"), willProps, str("t"), str("m")),
			sets(Username, "u"), packet(v5(0x86, props), str("a"), willProps, str("t"), str("m"), str("u"))},
		{"Remaining Length grows to two bytes", packet(v4(0x02), str("a")), sets(ClientID, strings.Repeat("x", 200)), packet(v4(0x02), str(strings.Repeat("x", 200)))},
		{"Remaining Length shrinks to one byte", packet(v4(0x02), str(strings.Repeat("x", 200))), sets(ClientID, ""), packet(v4(0x02), str(""))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.set {
				c.Set(s.f, []byte(s.v))
			}
			got, err := c.Append(nil)
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("got %x, %v\nwant %x", got, err, tt.want)
			}
			if _, err := Parse(got); err != nil {
				t.Errorf("the rewritten packet does not parse: %v", err)
			}
		})
	}
	c, _ := Parse(packet(v4(0x02), str("a")))
	c.Set(Username, make([]byte, 0x10000))
	if _, err := c.Append(nil); !errors.Is(err, ErrTooLong) {
		t.Errorf("a username of 65536 bytes: %v, want ErrTooLong", err)
	}
}

// sets lists field, value pairs for TestSet.
func sets(kv ...any) []struct {
	f Field
	v string
} {
	var out []struct {
		f Field
		v string
	}
	for i := 0; i < len(kv); i += 2 {
		out = append(out, struct {
			f Field
			v string
		}{kv[i].(Field), kv[i+1].(string)})
	}
	return out
}

// FuzzParse feeds any bytes to Scan, whole and growing, and to Parse: they
// never panic, agree with each other, and a packet read comes out of
// Append as it came, and again after a field is set.
func FuzzParse(f *testing.F) {
	f.Add(packet(v4(0xc2), str("dev1"), str("alice"), str("pw")), uint8(1))
	f.Add(packet(v5(0x06, "\x11\x00\x00\x00\x3c"), str("a"), "\x02\x01\x01", str("t"), str("m")), uint8(3))
	f.Add(packet(str("MQIsdp"), "\x03\x02\x00\x0a", str("old")), uint8(0))
	f.Add([]byte{0x10, 0xff, 0xff, 0xff, 0x7f}, uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, field uint8) {
		v, total, c := Scan(b)
		for n := 0; n < len(b); n++ {
			if pv, _, _ := Scan(b[:n]); pv != More && pv != v {
				t.Fatalf("at %d bytes %v, whole %v", n, pv, v)
			}
		}
		if v != Done {
			return
		}
		if _, err := Parse(b[:total]); err != nil {
			t.Fatalf("Scan is done, Parse says %v", err)
		}
		out, err := c.Append(nil)
		if err != nil || !bytes.Equal(out, b[:total]) {
			t.Fatalf("Append gave %x, %v; want %x", out, err, b[:total])
		}
		c.Set(Field(field%3+1), []byte("fuzz"))
		out, err = c.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("the rewritten packet %x does not parse: %v", out, err)
		}
	})
}
