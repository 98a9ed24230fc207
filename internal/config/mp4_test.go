package config

import (
	"testing"
)

// TestMP4 checks the mp4 module's settings: mp4 is a location's own and
// the last of its content handlers wins; the sizes and the flag are
// inherited and checked.
func TestMP4(t *testing.T) {
	tests := []struct {
		name, srv, loc string
		outer, inner   MP4
		err            string
	}{
		{"none", "", "", defaultMP4(), defaultMP4(), ""},
		{"mp4", "", "mp4;", MP4{On: true, BufferSize: 512 << 10, MaxBufferSize: 10 << 20}, defaultMP4(), ""},
		{"mp4 after proxy_pass", "", "proxy_pass http://127.0.0.1:9; mp4;", MP4{On: true, BufferSize: 512 << 10, MaxBufferSize: 10 << 20}, defaultMP4(), ""},
		{"proxy_pass after mp4", "", "mp4; proxy_pass http://127.0.0.1:9;", defaultMP4(), defaultMP4(), ""},
		{"flv after mp4", "", "mp4; flv;", defaultMP4(), defaultMP4(), ""},
		{"sizes and key frames inherited", "mp4_buffer_size 1k; mp4_max_buffer_size 2m; mp4_start_key_frame on;", "mp4;",
			MP4{On: true, BufferSize: 1024, MaxBufferSize: 2 << 20, StartKeyFrame: true}, MP4{BufferSize: 1024, MaxBufferSize: 2 << 20, StartKeyFrame: true}, ""},
		{"argument", "", "mp4 on;", MP4{}, MP4{}, `invalid number of arguments in "mp4" directive in nginx.conf:3`},
		{"bad size", "mp4_max_buffer_size lots;", "", MP4{}, MP4{}, `"mp4_max_buffer_size" directive invalid value in nginx.conf:2`},
		{"in server", "mp4;", "", MP4{}, MP4{}, `"mp4" directive is not allowed here in nginx.conf:2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "http {\nserver { " + tt.srv + "\nlocation /v/ { " + tt.loc + "\nlocation /v/n/ { }\n} } }\n"
			outer, inner := loadNested(t, src, tt.err)
			if outer == nil {
				return
			}
			if got := outer.MP4; got != tt.outer {
				t.Errorf("MP4 %+v, want %+v", got, tt.outer)
			}
			if got := inner.MP4; got != tt.inner {
				t.Errorf("nested MP4 %+v, want %+v", got, tt.inner)
			}
		})
	}
}
