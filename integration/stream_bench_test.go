package integration

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
)

// vmHWM returns the peak resident set size of process pid in KiB.
func vmHWM(b *testing.B, pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb
		}
	}
	b.Fatal("no VmHWM")
	return 0
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// BenchmarkStreamLargeBody streams a 300 MB response and a 300 MB upload through
// fulcrum and reports its peak RSS: streaming must keep it flat, whatever the
// body size. Run: go test -run=^$ -bench=StreamLargeBody ./integration/
func BenchmarkStreamLargeBody(b *testing.B) {
	const size = 300 << 20
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			n, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprint(w, n)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(size))
		io.CopyN(w, zeros{}, size)
	}))
	b.Cleanup(backend.Close)
	in := startFulcrum(b, fmt.Sprintf(`
events {}
http {
    access_log off;
    client_max_body_size 0;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%s; }
    }
}`, backend.Listener.Addr()), 1)
	pid := in.cmd.Process.Pid
	before := vmHWM(b, pid)
	client := newClient()
	client.Timeout = 0
	b.SetBytes(2 * size)
	b.ResetTimer()
	for range b.N {
		resp, err := client.Get(in.url(0) + "/download")
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n != size {
			b.Fatalf("downloaded %d bytes", n)
		}
		req, _ := http.NewRequest(http.MethodPost, in.url(0)+"/upload", io.LimitReader(zeros{}, size))
		req.ContentLength = size
		resp, err = client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != strconv.Itoa(size) {
			b.Fatalf("backend got %s bytes", got)
		}
	}
	b.StopTimer()
	after := vmHWM(b, pid)
	b.ReportMetric(float64(before)/1024, "rss-start-MB")
	b.ReportMetric(float64(after)/1024, "rss-peak-MB")
}
