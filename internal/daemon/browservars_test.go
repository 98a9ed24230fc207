package daemon_test

import (
	"fmt"
	"strings"
	"testing"
)

// browserServers are the servers of TestBrowserVariables (and of its run
// against nginx, browservars_nginx_test.go); LISTEN is the address.
const browserServers = `
    server {
        listen LISTEN;
        server_name rules.test;
        modern_browser gecko 5.0; modern_browser unlisted;
        ancient_browser Lynx;
        modern_browser_value srv;
        location /inherit { return 200 "[$modern_browser][$ancient_browser][$msie]"; }
        location /typical {
            modern_browser gecko 1.0; modern_browser msie 9.0; modern_browser opera 9.0;
            modern_browser safari 413; modern_browser konqueror 3.5;
            modern_browser unlisted;
            ancient_browser Links Lynx netscape4;
            modern_browser_value new; ancient_browser_value old;
            return 200 "[$modern_browser][$ancient_browser][$msie]";
        }
        location /unlisted { modern_browser unlisted; return 200 "[$modern_browser][$ancient_browser][$msie]"; }
        location /list { modern_browser msie 9.0; return 200 "[$modern_browser][$ancient_browser][$msie]"; }
        location /n4 { ancient_browser netscape4; return 200 "[$modern_browser][$ancient_browser][$msie]"; }
        location /first { modern_browser msie 9.0; modern_browser msie 6.0; modern_browser unlisted; return 200 "[$modern_browser][$ancient_browser][$msie]"; }
        location /carry { modern_browser gecko 2.0; return 200 "[$modern_browser][$ancient_browser][$msie]"; }
        location /set { set $modern_browser changed; set $msie changed; return 200 "[$modern_browser][$ancient_browser][$msie]"; }
        location /if {
            if ($ancient_browser) { rewrite ^ /ancient.html last; }
            return 200 "modern";
        }
        location = /ancient.html { return 200 "ancient page"; }
    }
    server {
        listen LISTEN;
        server_name plain.test;
        location / { return 200 "[$modern_browser][$ancient_browser][$msie]"; }
    }`

// Real browsers' User-Agent fields, old and new.
const (
	uaFirefox120 = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
	uaFirefox36  = "Mozilla/5.0 (Windows; U; Windows NT 6.1; en-US; rv:1.9.2.3) Gecko/20100401 Firefox/3.6.3"
	uaChrome120  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	uaEdge120    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0"
	uaOperaOPR   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0"
	uaSafari17   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"
	uaSafari2    = "Mozilla/5.0 (Macintosh; U; PPC Mac OS X; en) AppleWebKit/418 (KHTML, like Gecko) Safari/417.9.3"
	uaSafari1    = "Mozilla/5.0 (Macintosh; U; PPC Mac OS X; ru-ru) AppleWebKit/125.2 (KHTML, like Gecko) Safari/125.7"
	uaMSIE6      = "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)"
	uaMSIE8      = "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)"
	uaMSIE10     = "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; Trident/6.0)"
	uaMSIE11     = "Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko"
	uaOpera12    = "Opera/9.80 (Windows NT 6.1; U; en) Presto/2.10.289 Version/12.16"
	uaOpera8MSIE = "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; en) Opera 8.50"
	uaOpera7     = "Opera/7.50 (X11; FreeBSD i386; U)  [en]"
	uaKonq35     = "Mozilla/5.0 (compatible; Konqueror/3.5; Linux) KHTML/3.5.10 (like Gecko)"
	uaKonq31     = "Mozilla/5.0 (compatible; Konqueror/3.1; Linux)"
	uaNetscape4  = "Mozilla/4.72 [en] (X11; U; Linux 2.2.14 i686)"
	uaLynx       = "Lynx/2.8.9rel.1 libwww-FM/2.14 SSL-MM/1.4.1 OpenSSL/1.1.1d"
	uaLinks      = "Links (2.20.2; Linux 5.10.0 x86_64; GNU C 10.2.1; text)"
	uaCurl       = "curl/8.5.0"
	uaGooglebot  = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)

// browserCase is one request of TestBrowserVariables: the User-Agent
// fields it sends (none for nil), and the body each path answers.
type browserCase struct {
	name string
	uas  []string
	want map[string]string // "host/path" -> body
}

// browserCases are what nginx 1.22.1 answered (browservars_nginx_test.go
// runs them against it).
var browserCases = []browserCase{
	{"firefox 120", []string{uaFirefox120}, map[string]string{
		"rules.test/typical": "[new][][]", "rules.test/inherit": "[srv][][]", "rules.test/unlisted": "[srv][][]",
		"rules.test/list": "[][1][]", "rules.test/n4": "[srv][][]", "rules.test/carry": "[srv][][]",
		"plain.test/": "[][1][]", "rules.test/if": "modern",
	}},
	{"firefox 3.6 (gecko 1.9.2.3)", []string{uaFirefox36}, map[string]string{
		"rules.test/typical": "[new][][]", "rules.test/inherit": "[][1][]", "rules.test/unlisted": "[srv][][]",
		"rules.test/carry": "[][1][]", "rules.test/if": "ancient page",
	}},
	{"chrome 120 (safari 537.36)", []string{uaChrome120}, map[string]string{
		"rules.test/typical": "[new][][]", "rules.test/inherit": "[srv][][]", "rules.test/list": "[][1][]", "plain.test/": "[][1][]",
	}},
	{"edge 120", []string{uaEdge120}, map[string]string{"rules.test/typical": "[new][][]"}},
	{"opera 106 (OPR, a Safari)", []string{uaOperaOPR}, map[string]string{"rules.test/typical": "[new][][]", "rules.test/list": "[][1][]"}},
	{"safari 17 (605.1.15)", []string{uaSafari17}, map[string]string{"rules.test/typical": "[new][][]"}},
	{"safari 2 (417.9.3)", []string{uaSafari2}, map[string]string{"rules.test/typical": "[new][][]"}},
	{"safari 1 (125.7)", []string{uaSafari1}, map[string]string{"rules.test/typical": "[][old][]", "rules.test/inherit": "[srv][][]"}},
	{"msie 6", []string{uaMSIE6}, map[string]string{
		"rules.test/typical": "[][old][1]", "rules.test/inherit": "[srv][][1]", "rules.test/list": "[][1][1]",
		"rules.test/first": "[][1][1]", "plain.test/": "[][1][1]", "rules.test/if": "modern",
	}},
	{"msie 8", []string{uaMSIE8}, map[string]string{"rules.test/typical": "[][old][1]", "rules.test/first": "[][1][1]"}},
	{"msie 10", []string{uaMSIE10}, map[string]string{"rules.test/typical": "[new][][1]", "rules.test/list": "[srv][][1]", "rules.test/first": "[srv][][1]"}},
	{"msie 11 (gecko 11.0)", []string{uaMSIE11}, map[string]string{
		"rules.test/typical": "[new][][]", "rules.test/inherit": "[srv][][]", "rules.test/list": "[][1][]", "rules.test/carry": "[srv][][]",
	}},
	{"opera 12 (9.80)", []string{uaOpera12}, map[string]string{"rules.test/typical": "[new][][]", "rules.test/list": "[][1][]"}},
	{"opera 8 saying MSIE 6.0", []string{uaOpera8MSIE}, map[string]string{
		"rules.test/typical": "[][old][]", "rules.test/list": "[][1][]", "rules.test/first": "[][1][]", "rules.test/inherit": "[][1][]",
	}},
	{"opera 7", []string{uaOpera7}, map[string]string{"rules.test/typical": "[][old][]"}},
	{"konqueror 3.5", []string{uaKonq35}, map[string]string{"rules.test/typical": "[new][][]"}},
	{"konqueror 3.1", []string{uaKonq31}, map[string]string{"rules.test/typical": "[][old][]"}},
	{"netscape 4.72", []string{uaNetscape4}, map[string]string{
		"rules.test/typical": "[][old][]", "rules.test/inherit": "[srv][][]", "rules.test/n4": "[][1][]", "rules.test/list": "[][1][]",
	}},
	{"lynx", []string{uaLynx}, map[string]string{
		"rules.test/typical": "[][old][]", "rules.test/inherit": "[][1][]", "rules.test/unlisted": "[][1][]",
		"rules.test/n4": "[srv][][]", "rules.test/if": "ancient page",
	}},
	{"links", []string{uaLinks}, map[string]string{"rules.test/typical": "[][old][]", "rules.test/inherit": "[srv][][]"}},
	{"curl", []string{uaCurl}, map[string]string{"rules.test/typical": "[new][][]", "rules.test/list": "[][1][]", "plain.test/": "[][1][]"}},
	{"googlebot", []string{uaGooglebot}, map[string]string{"rules.test/typical": "[new][][]"}},
	{"no User-Agent", nil, map[string]string{
		"rules.test/typical": "[new][][]", "rules.test/inherit": "[srv][][]", "rules.test/list": "[][1][]",
		"rules.test/n4": "[srv][][]", "plain.test/": "[][1][]", "rules.test/if": "modern",
	}},
	{"empty User-Agent", []string{""}, map[string]string{"rules.test/typical": "[new][][]", "rules.test/list": "[][1][]"}},
	{"the first of two fields counts", []string{uaLynx, uaMSIE6}, map[string]string{"rules.test/typical": "[][old][]", "rules.test/list": "[][1][]"}},
	{"the first of two fields counts, MSIE first", []string{uaMSIE6, uaLynx}, map[string]string{"rules.test/typical": "[][old][1]", "rules.test/inherit": "[srv][][1]"}},
	{"short MSIE: not after 25 bytes, but $msie", []string{"MSIE 10.0"}, map[string]string{"rules.test/list": "[][1][1]", "rules.test/typical": "[new][][1]"}},
	{"MSIE with two bytes after it", []string{"Mozilla/4.0 (compatible; MSIE 10"}, map[string]string{"rules.test/list": "[srv][][]"}},
	{"MSIE with nothing after it", []string{"Mozilla/4.0 (compatible; MSIE "}, map[string]string{"rules.test/list": "[][1][]", "rules.test/first": "[srv][][]"}},
	{"a version part over 99 carries", []string{"Mozilla/5.0 (X11; rv:1.100) Gecko/20100101"}, map[string]string{"rules.test/carry": "[srv][][]"}},
	{"set changes them", []string{uaMSIE6}, map[string]string{"rules.test/set": "[changed][][changed]"}},
	{"set changes them, no User-Agent", nil, map[string]string{"rules.test/set": "[changed][][changed]"}},
}

// TestBrowserVariables sends real browsers' User-Agent fields, and edge
// cases, through the daemon and checks $modern_browser, $ancient_browser
// and $msie against each level's rules, as nginx 1.22.1 answered them.
func TestBrowserVariables(t *testing.T) {
	addr := startDaemon(t, t.TempDir(), "access_log off;\n"+strings.ReplaceAll(browserServers, "LISTEN", "127.0.0.1:0"))
	runBrowserCases(t, addr)
}

// runBrowserCases sends browserCases to addr.
func runBrowserCases(t *testing.T, addr string) {
	for _, tc := range browserCases {
		for target, want := range tc.want {
			t.Run(tc.name+" "+target, func(t *testing.T) {
				host, path, _ := strings.Cut(target, "/")
				var fields strings.Builder
				for _, ua := range tc.uas {
					fmt.Fprintf(&fields, "User-Agent: %s\r\n", ua)
				}
				resp, body := exchange(t, addr, fmt.Sprintf("GET /%s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n", path, host, fields.String()))
				if resp.StatusCode != 200 || body != want {
					t.Errorf("%d %q, want 200 %q", resp.StatusCode, body, want)
				}
			})
		}
	}
}
