package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docExample is one ```nginx block of a page a newcomer follows.
type docExample struct {
	file string
	line int
	text string
}

// nginxBlocks returns the ```nginx blocks of the file at path (relative to
// the repository's root).
func nginxBlocks(t *testing.T, path string) []docExample {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", path))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	var out []docExample
	for _, m := range regexp.MustCompile("(?s)```nginx\n(.*?)```").FindAllStringSubmatchIndex(src, -1) {
		out = append(out, docExample{file: path, line: strings.Count(src[:m[0]], "\n") + 1, text: src[m[2]:m[3]]})
	}
	return out
}

// upstreamRef finds the upstream names a fragment passes to (proxy_pass
// http://app, grpc_pass grpc://grpc_backend).
var upstreamRef = regexp.MustCompile(`\b(?:proxy|grpc)_pass\s+\w+://([A-Za-z_][\w-]*)\s*;`)

// wholeConfig wraps an example into a configuration that can be tested as
// it stands: an http or stream block gets events, an upstream block an
// http block, a location a server (and the upstreams it names, with a
// zone), and a few directives a proxying location.
func wholeConfig(text string) string {
	first := strings.TrimSpace(text)
	switch {
	case strings.HasPrefix(first, "events"):
		return text
	case strings.HasPrefix(first, "http {"), strings.HasPrefix(first, "stream {"):
		return "events {}\n" + text
	case strings.HasPrefix(first, "upstream "):
		return "events {}\nhttp {\n" + text + "\n}\n"
	case strings.HasPrefix(first, "location "):
		var ups strings.Builder
		for _, m := range upstreamRef.FindAllStringSubmatch(text, -1) {
			fmt.Fprintf(&ups, "upstream %s { zone %s 64k; server 127.0.0.1:1; }\n", m[1], m[1])
		}
		return "events {}\nhttp {\n" + ups.String() + "server {\nlisten 127.0.0.1:1;\n" + text + "\n}\n}\n"
	}
	return "events {}\nhttp {\nserver {\nlisten 127.0.0.1:1;\nlocation / {\nproxy_pass http://127.0.0.1:1;\n" + text + "\n}\n}\n}\n"
}

// TestDocExamplesPass runs `fulcrum -t` on every nginx example of the
// pages an operator follows (README.md, docs/operations.md,
// docs/load-balancing.md), each wrapped into a whole configuration: an
// example that does not load as written is a bug of the page.
func TestDocExamplesPass(t *testing.T) {
	t.Parallel() // fulcrum -t in its own temp dir
	dir := t.TempDir()
	var all []docExample
	for _, page := range []string{"README.md", "docs/operations.md", "docs/load-balancing.md"} {
		all = append(all, nginxBlocks(t, page)...)
	}
	if len(all) < 10 {
		t.Fatalf("found %d examples: the pages changed shape", len(all))
	}
	for i, ex := range all {
		t.Run(fmt.Sprintf("%s:%d", ex.file, ex.line), func(t *testing.T) {
			conf := filepath.Join(dir, fmt.Sprintf("ex%d.conf", i))
			if err := os.WriteFile(conf, []byte(wholeConfig(ex.text)), 0o644); err != nil {
				t.Fatal(err)
			}
			if r := runFulcrum(t, "-t", "-q", "-c", conf); r.code != 0 {
				t.Errorf("the example at %s:%d does not load: %s", ex.file, ex.line, r.stderr)
			}
		})
	}
}
