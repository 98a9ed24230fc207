package testutil

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"
)

// uwsgiPacket encodes a uwsgi request packet with modifiers m1, m2 and the
// variables kv (name, value, ...).
func uwsgiPacket(m1, m2 byte, kv ...string) []byte {
	var vars []byte
	for _, s := range kv {
		vars = binary.LittleEndian.AppendUint16(vars, uint16(len(s)))
		vars = append(vars, s...)
	}
	p := []byte{m1, 0, 0, m2}
	binary.LittleEndian.PutUint16(p[1:3], uint16(len(vars)))
	return append(p, vars...)
}

func TestReadUWSGI(t *testing.T) {
	tests := []struct {
		name    string
		packet  []byte
		mods    [2]byte
		vars    [][2]string
		wantErr bool
	}{
		{"variables", uwsgiPacket(5, 1, "REQUEST_URI", "/x?a=1", "EMPTY", ""), [2]byte{5, 1}, [][2]string{{"REQUEST_URI", "/x?a=1"}, {"EMPTY", ""}}, false},
		{"none", uwsgiPacket(0, 0), [2]byte{0, 0}, nil, false},
		{"a name past the end", append(uwsgiPacket(0, 0)[:1], 3, 0, 0, 9, 0, 'a'), [2]byte{0, 0}, nil, true},
		{"a short head", []byte{0, 1}, [2]byte{}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mods, vars, err := ReadUWSGI(bytes.NewReader(tt.packet))
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want one: %v", err, tt.wantErr)
			}
			if !tt.wantErr && (mods != tt.mods || !reflect.DeepEqual(vars, tt.vars)) {
				t.Errorf("got %v %q, want %v %q", mods, vars, tt.mods, tt.vars)
			}
		})
	}
	if got := UWSGIVar([][2]string{{"A", "1"}, {"B", "2"}}, "B"); got != "2" {
		t.Errorf("UWSGIVar B = %q", got)
	}
}
