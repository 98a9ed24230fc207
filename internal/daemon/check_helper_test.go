package daemon_test

import (
	"os"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/daemon"
)

// checkText writes text to path and runs what `fulcrum -t` runs on it
// (config.Load, then daemon.Check): the first error, nil when it passes.
func checkText(t *testing.T, path, text string) error {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.LoadOptions{})
	if err != nil {
		return err
	}
	return daemon.Check(cfg)
}
