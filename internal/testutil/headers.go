package testutil

// BrowserHeaders returns the request header fields of a typical browser
// request (a fresh map each call), for benchmarks that weigh the header
// rewrite with realistic fields.
func BrowserHeaders() map[string]string {
	return map[string]string{
		"User-Agent":      "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Accept":          "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"Accept-Language": "en-US,en;q=0.5",
		"Accept-Encoding": "gzip, deflate, br",
		"Referer":         "http://bench.example/previous/page",
		"Cookie":          "session=0123456789abcdef0123456789abcdef; theme=dark; consent=1",
		"Cache-Control":   "no-cache",
		"Pragma":          "no-cache",
		"Sec-Fetch-Dest":  "document",
		"Sec-Fetch-Mode":  "navigate",
		"X-Request-Start": "t=1700000000000",
	}
}
