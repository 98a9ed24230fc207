package integration

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png" // the answers' sizes
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// imageFilterConf is TestImageFilter's configuration, the document root
// for %[1]s. nginx 1.22.1 with its image filter module answered each case
// with the same status, Content-Type and image size.
const imageFilterConf = `
events {}
http {
    server {
        listen 127.0.0.1:0;
        root %[1]s;
        location /thumb/ { alias %[1]s/; image_filter resize 150 150; }
        location /crop/ { alias %[1]s/; image_filter crop 100 100; }
        location /size/ { alias %[1]s/; image_filter size; }
        location /test/ { alias %[1]s/; image_filter test; }
    }
}
`

// TestImageFilter runs the real binary with image_filter over static
// files: a thumbnail keeps the proportions, a crop fills its box, size
// answers nginx's JSON, and a body that is no image answers 415.
func TestImageFilter(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	m := image.NewRGBA(image.Rect(0, 0, 300, 200))
	for y := range 200 {
		for x := range 300 {
			m.Set(x, y, color.RGBA{uint8(x), uint8(y), 100, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, nil); err != nil {
		t.Fatal(err)
	}
	root := writeFiles(t, t.TempDir(), map[string]string{"a.jpg": buf.String(), "text.jpg": "no image here, only text\n"})
	in := startFulcrum(t, fmt.Sprintf(imageFilterConf, filepath.Clean(root)), 1)
	addr := in.listening()[0]
	tests := []struct {
		target, ctype, want string
		code                int
	}{
		{"/thumb/a.jpg", "image/jpeg", "jpeg 150x100", 200},
		{"/crop/a.jpg", "image/jpeg", "jpeg 100x100", 200},
		{"/size/a.jpg", "application/json", "{ \"img\" : { \"width\": 300, \"height\": 200, \"type\": \"jpeg\" } }\r\n", 200},
		{"/size/text.jpg", "application/json", "{}\r\n", 200},
		{"/test/a.jpg", "image/jpeg", "jpeg 300x200", 200},
		{"/test/text.jpg", "text/html", "", 415},
		{"/thumb/text.jpg", "text/html", "", 415},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			resp, err := http.Get("http://" + addr + tt.target)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code || resp.Header.Get("Content-Type") != tt.ctype {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, resp.Header.Get("Content-Type"), tt.code, tt.ctype)
			}
			if tt.code != 200 {
				return
			}
			got := string(body)
			if strings.HasPrefix(tt.ctype, "image/") {
				cfg, format, err := image.DecodeConfig(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				got = fmt.Sprintf("%s %dx%d", format, cfg.Width, cfg.Height)
			}
			if got != tt.want {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
		})
	}
}

// TestImageFilterConfigErrors: fulcrum -t names the file and line of a bad
// image filter value, or an unknown variable in one, in nginx 1.22.1's
// words.
func TestImageFilterConfigErrors(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	tests := []struct{ directive, want string }{
		{"image_filter_jpeg_quality 0;", `invalid value "0" in `},
		{"image_filter_webp_quality abc;", `invalid value "abc" in `},
		{"image_filter_buffer 1x;", `"image_filter_buffer" directive invalid value in `},
		{"image_filter resize 150 100;", `"image_filter" directive is not allowed here in `},
	}
	checkDirectiveErrors(t, tests)
	r, path := testHTTP(t, " server { location / { image_filter resize $nosuch 100; } }")
	if want := `unknown "nosuch" variable in ` + path + ":3"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, stderr:\n%s\nwant %q", r.code, r.stderr, want)
	}
	if r, _ := testHTTP(t, " image_filter_buffer 4m; image_filter_jpeg_quality 80; image_filter_sharpen 10; image_filter_transparency off;\n server { location / { image_filter rotate 90; image_filter resize $arg_w -; } }"); r.code != 0 || strings.Contains(r.stderr, "image_filter") {
		t.Errorf("a valid image_filter config: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
