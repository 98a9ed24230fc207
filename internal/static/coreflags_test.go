package static

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"fulcrum/internal/config"
)

// TestServeFileCoreFlags checks etag, if_modified_since and max_ranges
// against what nginx 1.22.1 answered for the same requests (a file of 11
// bytes): the status and which of ETag, Accept-Ranges and Content-Range
// the head carries.
func TestServeFileCoreFlags(t *testing.T) {
	tr := newTree(t)
	res := resolveFile(t, tr, "/r.txt")
	lm := res.ModTime.UTC().Format(http.TimeFormat)
	later := res.ModTime.Add(24 * 3600e9).UTC().Format(http.TimeFormat)
	earlier := res.ModTime.Add(-24 * 3600e9).UTC().Format(http.TimeFormat)
	tag := etag(res.ModTime, res.Size)
	noETag := config.Settings{CoreFlags: config.CoreFlags{ETagOff: true}}
	imsOff := config.Settings{CoreFlags: config.CoreFlags{IfModifiedSince: config.IMSOff}}
	imsBefore := config.Settings{CoreFlags: config.CoreFlags{IfModifiedSince: config.IMSBefore}}
	ranges := func(n int) config.Settings {
		return config.Settings{CoreFlags: config.CoreFlags{MaxRanges: n, RangesOff: n == 0}}
	}
	exact := config.Settings{}
	tests := []struct {
		name   string
		set    config.Settings
		header map[string]string
		status int
		fields map[string]bool // present or absent
	}{
		{"etag on", exact, nil, 200, map[string]bool{"Etag": true, "Accept-Ranges": true}},
		{"etag off", noETag, nil, 200, map[string]bool{"Etag": false, "Accept-Ranges": true, "Last-Modified": true}},
		{"etag off, If-None-Match *", noETag, map[string]string{"If-None-Match": "*"}, 304, map[string]bool{"Etag": false}},
		{"etag off, If-None-Match the tag", noETag, map[string]string{"If-None-Match": tag}, 200, map[string]bool{"Etag": false}},
		{"etag off, If-Match", noETag, map[string]string{"If-Match": tag}, 412, nil},
		{"etag off, If-Match *", noETag, map[string]string{"If-Match": "*"}, 200, nil},
		{"etag off, If-Range with a tag", noETag, map[string]string{"Range": "bytes=0-1", "If-Range": tag}, 200, map[string]bool{"Accept-Ranges": true}},
		{"etag off, If-Range with the date", noETag, map[string]string{"Range": "bytes=0-1", "If-Range": lm}, 206, map[string]bool{"Content-Range": true}},

		{"exact, same date", exact, map[string]string{"If-Modified-Since": lm}, 304, nil},
		{"exact, later", exact, map[string]string{"If-Modified-Since": later}, 200, nil},
		{"off, same date", imsOff, map[string]string{"If-Modified-Since": lm}, 200, nil},
		{"off, same date and the tag", imsOff, map[string]string{"If-Modified-Since": lm, "If-None-Match": tag}, 200, nil},
		{"off, the tag alone", imsOff, map[string]string{"If-None-Match": tag}, 304, nil},
		{"before, same date", imsBefore, map[string]string{"If-Modified-Since": lm}, 304, nil},
		{"before, later", imsBefore, map[string]string{"If-Modified-Since": later}, 304, nil},
		{"before, earlier", imsBefore, map[string]string{"If-Modified-Since": earlier}, 200, nil},
		{"before, not a date", imsBefore, map[string]string{"If-Modified-Since": "yesterday"}, 200, nil},
		// nginx's date parser (httptime.Parse) reads no further than the
		// time, and not the day name: nginx 1.22.1 answers these 304 and 206.
		{"exact, text after the date", exact, map[string]string{"If-Modified-Since": lm + " junk"}, 304, nil},
		{"exact, another zone", exact, map[string]string{"If-Modified-Since": strings.Replace(lm, "GMT", "+0100", 1)}, 304, nil},
		{"exact, no such day", exact, map[string]string{"If-Modified-Since": "Xyz" + lm[3:]}, 304, nil},
		{"If-Range, text after the date", exact, map[string]string{"Range": "bytes=0-1", "If-Range": lm + " junk"}, 206, map[string]bool{"Content-Range": true}},

		{"max_ranges 0", ranges(0), map[string]string{"Range": "bytes=0-1"}, 200, map[string]bool{"Accept-Ranges": false, "Content-Range": false}},
		{"max_ranges 0, no Range", ranges(0), nil, 200, map[string]bool{"Accept-Ranges": false}},
		{"max_ranges 0, unsatisfiable", ranges(0), map[string]string{"Range": "bytes=50-60"}, 200, nil},
		{"max_ranges 1, one", ranges(1), map[string]string{"Range": "bytes=0-1"}, 206, map[string]bool{"Content-Range": true}},
		{"max_ranges 1, two", ranges(1), map[string]string{"Range": "bytes=0-1,3-4"}, 200, map[string]bool{"Accept-Ranges": true}},
		{"max_ranges 1, one past the end among two", ranges(1), map[string]string{"Range": "bytes=0-1,50-60"}, 206, nil},
		{"max_ranges 2, three", ranges(2), map[string]string{"Range": "bytes=0-1,3-4,6-7"}, 200, map[string]bool{"Accept-Ranges": true}},
		{"max_ranges 2, two", ranges(2), map[string]string{"Range": "bytes=0-1,3-4"}, 206, nil},
		{"max_ranges 1, unsatisfiable", ranges(1), map[string]string{"Range": "bytes=50-60"}, 416, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := res
			r.filters = newFileFilters(&tc.set)
			req := httptest.NewRequest("GET", "/r.txt", nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			status := http.StatusOK
			if err := ServeFile(rec, req, r); err != nil {
				status = ErrorStatus(err)
			} else {
				status = rec.Code
			}
			if status != tc.status {
				t.Fatalf("status %d, want %d (%v)", status, tc.status, rec.Header())
			}
			for k, want := range tc.fields {
				if _, got := rec.Header()[k]; got != want {
					t.Errorf("%s present: %v, want %v (%v)", k, got, want, rec.Header())
				}
			}
		})
	}
}

// TestConditionalFor checks the not-modified filter cached responses get:
// the location's if_modified_since, and a weak ETag that If-None-Match
// matches by its opaque part, as ngx_http_test_if_match does.
func TestConditionalFor(t *testing.T) {
	lm, _ := http.ParseTime("Tue, 02 Jan 2024 03:04:05 GMT")
	later := "Wed, 03 Jan 2024 03:04:05 GMT"
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	tests := []struct {
		ims  config.IMSMode
		h    http.Header
		tag  string
		want int
	}{
		{config.IMSExact, h("If-Modified-Since", later), "", 0},
		{config.IMSBefore, h("If-Modified-Since", later), "", 304},
		{config.IMSOff, h("If-Modified-Since", lm.Format(http.TimeFormat)), "", 0},
		{config.IMSExact, h("If-None-Match", `"a"`), `W/"a"`, 304},
		{config.IMSExact, h("If-None-Match", `W/"a"`), `W/"a"`, 304},
		{config.IMSExact, h("If-Match", `"a"`), `W/"a"`, 412},
		{config.IMSExact, h("If-None-Match", `"a"`), "", 0},
		{config.IMSExact, h("If-None-Match", `*`), "", 304},
	}
	for i, tc := range tests {
		if got := ConditionalFor(tc.ims)(tc.h, lm, tc.tag); got != tc.want {
			t.Errorf("%d: ConditionalFor(%v)(%v, %q) = %d, want %d", i, tc.ims, tc.h, tc.tag, got, tc.want)
		}
	}
}

// TestMissing checks which lookup failures "log_not_found off" leaves out
// of the error log: the static module's open() of a file that does not
// exist (ENOENT, ENOTDIR, ENAMETOOLONG) and the index module's "is not
// found", never a refusal or another failure.
func TestMissing(t *testing.T) {
	tr := newTree(t)
	rv, err := New(&config.Settings{Root: tr.path("www")}, nil, Location{Path: "/"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		uri  string
		want bool
	}{
		{"/nope.txt", true},
		{"/r.txt/x", true},
		{"/nodir/", true},
		{"/r.txt/", true},
	}
	for _, tc := range tests {
		res := rv.Resolve(Request{Method: "GET", URI: tc.uri})
		if res.Kind != KindStatus || res.Err == nil || Missing(res.Err) != tc.want {
			t.Errorf("%s: %v %d %v, Missing %v, want %v", tc.uri, res.Kind, res.Status, res.Err, Missing(res.Err), tc.want)
		}
	}
	for _, err := range []error{
		&CallError{Call: "open", Path: "/x", Err: syscall.EACCES},
		&CallError{Call: "opendir", Path: "/x", Err: syscall.ENOENT},
		errors.New(`directory index of "/x/" is forbidden`),
	} {
		if Missing(err) {
			t.Errorf("Missing(%v) = true", err)
		}
	}
}
