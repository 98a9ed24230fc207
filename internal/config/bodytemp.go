package config

import (
	"os"
	"strconv"
)

// TempPath is a *_temp_path directive: the directory temporary files go
// to and the lengths of the subdirectory names taken from each file's name
// (nginx's "level1 [level2 [level3]]").
type TempPath struct {
	// Path is the absolute directory.
	Path string
	// Levels are the subdirectory name lengths, outermost first: "1 2"
	// puts file 0000000012 in Path/2/01/. Empty means no subdirectories.
	Levels []int
	// Pos is where the directive was written; zero for the default
	// (<prefix>/client_body_temp), which the daemon creates at start, on
	// reload and for -t, as nginx creates its default.
	Pos Pos
}

// Client body file modes (client_body_in_file_only).
const (
	// BodyInFileOff keeps a body that fits client_body_buffer_size in
	// memory and writes a longer one to an unlinked temporary file.
	BodyInFileOff = iota
	// BodyInFileOn writes every body to a file that stays after the request.
	BodyInFileOn
	// BodyInFileClean writes every body to a file removed after the request.
	BodyInFileClean
)

// defaultClientBodyBufferSize is nginx's default client_body_buffer_size:
// two memory pages (8k on x86-64, where nginx 1.22.1 writes a 10,240-byte
// body with Content-Length to a file and keeps a 10,239-byte one in memory).
func defaultClientBodyBufferSize() int64 { return 2 * int64(os.Getpagesize()) }

// clientBodyRules are the client_body_* rules of the body spool.
var clientBodyRules = []settingRule{
	sizeRule("client_body_buffer_size", func(s *Settings) *int64 { return &s.ClientBodyBufferSize }),
	flagRule("client_body_in_single_buffer", func(s *Settings) *bool { return &s.ClientBodyInSingleBuffer }),
	{names: []string{"client_body_temp_path"}, apply: applyTempPath(func(s *Settings) *TempPath { return &s.ClientBodyTempPath })},
	{names: []string{"client_body_in_file_only"}, apply: func(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
		switch dirs[0].Args[0] {
		case "off":
			st.ClientBodyInFileOnly = BodyInFileOff
		case "on":
			st.ClientBodyInFileOnly = BodyInFileOn
		case "clean":
			st.ClientBodyInFileOnly = BodyInFileClean
		default:
			return hintf(dirs[0].Pos, `use "on", "clean" or "off"`, "invalid value %q", dirs[0].Args[0])
		}
		return nil
	}},
}

// applyTempPath reads a *_temp_path directive as ngx_conf_set_path_slot
// does: each level is a positive number and together they are at most 10
// characters long (nginx: `"client_body_temp_path" directive invalid
// value` for "0", "x" or "5 6").
func applyTempPath(field func(*Settings) *TempPath) func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
	return func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
		d := dirs[0]
		tp := TempPath{Path: b.path(d.Args[0]), Pos: d.Pos}
		total := 0
		for _, a := range d.Args[1:] {
			n, err := strconv.Atoi(a)
			if err != nil || n <= 0 || a[0] == '+' {
				return hintf(d.Pos, "levels are 1 to 10 digits long, 10 at most in all", "%q directive invalid value", d.Name)
			}
			total += n
			tp.Levels = append(tp.Levels, n)
		}
		if total > 10 {
			return hintf(d.Pos, "levels are 1 to 10 digits long, 10 at most in all", "%q directive invalid value", d.Name)
		}
		*field(st) = tp
		return nil
	}
}
