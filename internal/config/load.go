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
	// They are read after the main file. Errors in them are reported "in command
	// line".
	Globals string
	// ErrorLog is the error log given with -e ("stderr" or a path, relative to the
	// prefix); it is the default for error_log.
	ErrorLog string
	// Resolver looks up host names in upstream servers, proxy_pass and listen; nil
	// means net.DefaultResolver. IP addresses and "localhost" (127.0.0.1) never
	// reach it.
	Resolver Resolver

	// goos is the system the configuration is built for: runtime.GOOS when
	// empty; tests set another to check what a directive does there.
	goos string
}

// commandLine is the file name of the directives given with -g, as nginx says it.
const commandLine = "command line"

// Load reads, validates and builds the configuration whose main file is path.
// A relative path resolves against opts.Prefix when that is set. Every error is an
// *Error naming the file and line. The returned Config's Warnings list what the
// operator should know (ignored and not yet implemented directives).
func Load(path string, opts LoadOptions) (*Config, error) {
	if !filepath.IsAbs(path) && opts.Prefix != "" {
		path = filepath.Join(opts.Prefix, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolve config path %q: %w", path, err)
	}
	tree, err := ParseFile(abs, ParseOptions{})
	if err != nil {
		return nil, err
	}
	globals, err := parseGlobals(opts.Globals, filepath.Dir(abs))
	if err != nil {
		return nil, err
	}
	// -g's directives come first, as nginx parses them before the file: a
	// directive given in both is the file's duplicate, named by its line.
	dirs := append(globals, tree.Directives...)
	warnings, err := validate(dirs)
	if err != nil {
		return nil, err
	}
	prefix, err := resolvePrefix(opts.Prefix, abs)
	if err != nil {
		return nil, err
	}
	cfg, err := build(dirs, buildOptions{prefix: prefix, confDir: filepath.Dir(abs), errorLog: opts.ErrorLog, resolver: opts.Resolver, goos: opts.goos}, warnings)
	if err != nil {
		return nil, err
	}
	cfg.Files = tree.Files
	cfg.Prefix = prefix
	return cfg, nil
}

// resolvePrefix returns the absolute prefix: opts.Prefix, or the main file's
// directory.
func resolvePrefix(prefix, mainFile string) (string, error) {
	if prefix == "" {
		return filepath.Dir(mainFile), nil
	}
	abs, err := filepath.Abs(prefix)
	if err != nil {
		return "", fmt.Errorf("resolve prefix %q: %w", prefix, err)
	}
	return abs, nil
}

// parseGlobals parses -g's directives. Their positions, and those of their errors,
// are "command line", without a line number, as nginx reports them.
func parseGlobals(src, includeDir string) ([]*Directive, error) {
	if src == "" {
		return nil, nil
	}
	tree, err := ParseBytes(commandLine, []byte(src), ParseOptions{IncludeDir: includeDir})
	if err != nil {
		if e, ok := AsError(err); ok && e.Pos.File == commandLine {
			e.Pos.Line = 0
		}
		return nil, err
	}
	setCommandLinePos(tree.Directives)
	for _, d := range tree.Directives {
		if d.IsBlock {
			return nil, errorf(d.Pos, "block directives are not supported in -g option")
		}
	}
	return tree.Directives, nil
}

func setCommandLinePos(dirs []*Directive) {
	for _, d := range dirs {
		if d.Pos.File == commandLine {
			d.Pos.Line = 0
		}
		setCommandLinePos(d.Block)
	}
}
