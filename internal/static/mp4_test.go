package static

import (
	"testing"

	"fulcrum/internal/mp4"
)

func TestMP4Range(t *testing.T) {
	tests := []struct {
		args string
		want mp4.Range
		ok   bool
	}{
		{"", mp4.Range{}, false},
		{"start=1.5", mp4.Range{Start: 1500}, true},
		{"START=1&End=3", mp4.Range{Start: 1000, Length: 2000}, true},
		{"x=1&end=2", mp4.Range{Length: 2000}, true},
		{"start=1&start=2", mp4.Range{Start: 1000}, true},
		{"start=abc", mp4.Range{}, false},
		{"start=abc&end=2", mp4.Range{Length: 2000}, true},
		{"end=0", mp4.Range{}, false},
		{"xstart=1", mp4.Range{}, false},
		{"start=3&end=2", mp4.Range{Start: 3000}, true},
	}
	for _, tt := range tests {
		got, ok := MP4Range(tt.args)
		if got != tt.want || ok != tt.ok {
			t.Errorf("MP4Range(%q) = %+v, %v; want %+v, %v", tt.args, got, ok, tt.want, tt.ok)
		}
	}
}
