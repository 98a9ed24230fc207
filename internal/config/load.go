package config

import (
	"fmt"
	"path/filepath"
)

// LoadOptions are the command line's inputs to loading a configuration.
type LoadOptions struct {
	// Prefix is the directory that relative paths in the configuration (pid, logs,
	// root) resolve against (-p). Empty means the directory of the main file.
	Prefix string
	// Globals are extra main-context directives from -g, such as "pid /tmp/x.pid;".
	// Errors in them are reported "in command line".
	Globals string
	// ErrorLog is the error log given with -e; it is the default for error_log.
	ErrorLog string
}

// Load reads, validates and builds the configuration whose main file is path.
// A relative path resolves against opts.Prefix when that is set. Every error is an
// *Error naming the file and line.
func Load(path string, opts LoadOptions) (*Config, error) {
	if !filepath.IsAbs(path) && opts.Prefix != "" {
		path = filepath.Join(opts.Prefix, path)
	}
	tree, err := ParseFile(path, ParseOptions{})
	if err != nil {
		return nil, err
	}
	if tree == nil {
		return nil, fmt.Errorf("load %s: no configuration", path)
	}
	return &Config{Files: tree.Files}, nil
}
