package upstream

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewSettingsDefaults(t *testing.T) {
	s := NewSettings(NetworkTCP, "127.0.0.1:5001")
	want := Settings{Network: "tcp", Addr: "127.0.0.1:5001", Weight: 1, MaxFails: 1, FailTimeout: 10 * time.Second}
	if s != want {
		t.Fatalf("NewSettings = %+v, want %+v", s, want)
	}
}

func TestSettingsNormalized(t *testing.T) {
	tests := []struct {
		name     string
		in       Settings
		wantName string
		wantNet  string
		wantErr  string // substring; empty means valid
	}{
		{name: "tcp name is the address", in: NewSettings("tcp", "10.0.0.1:80"), wantName: "10.0.0.1:80", wantNet: "tcp"},
		{name: "empty network is tcp", in: NewSettings("", "10.0.0.1:80"), wantName: "10.0.0.1:80", wantNet: "tcp"},
		{name: "unix name has the prefix", in: NewSettings("unix", "/run/app.sock"), wantName: "unix:/run/app.sock", wantNet: "unix"},
		{name: "explicit name kept", in: Settings{Network: "tcp", Addr: "10.0.0.1:80", Name: "app.local:80", Weight: 1}, wantName: "app.local:80", wantNet: "tcp"},
		{name: "bad network", in: NewSettings("udp", "x:1"), wantErr: `network "udp"`},
		{name: "empty address", in: NewSettings("tcp", ""), wantErr: "empty address"},
		{name: "zero weight", in: Settings{Network: "tcp", Addr: "x:1"}, wantErr: "weight 0"},
		{name: "negative max_fails", in: server("x:1", maxFails(-1)), wantErr: "max_fails -1"},
		{name: "negative fail_timeout", in: server("x:1", failTimeout(-time.Second)), wantErr: "fail_timeout"},
		{name: "negative max_conns", in: server("x:1", maxConns(-2)), wantErr: "max_conns -2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.normalized()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, errInvalid) {
					t.Fatalf("err = %v, want one containing %q wrapping errInvalid", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if got.Name != tt.wantName || got.Network != tt.wantNet {
				t.Fatalf("got name %q network %q, want %q %q", got.Name, got.Network, tt.wantName, tt.wantNet)
			}
		})
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{Success: "success", Failure: "failure", Neutral: "neutral"} {
		if o.String() != want {
			t.Errorf("%d.String() = %q, want %q", o, o.String(), want)
		}
	}
}
