package browser

import (
	"testing"

	"fulcrum/internal/config"
)

// Real browsers' User-Agent fields, old and new.
const (
	firefox120 = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
	firefox36  = "Mozilla/5.0 (Windows; U; Windows NT 6.1; en-US; rv:1.9.2.3) Gecko/20100401 Firefox/3.6.3"
	chrome120  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	safari17   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"
	safari2    = "Mozilla/5.0 (Macintosh; U; PPC Mac OS X; en) AppleWebKit/418 (KHTML, like Gecko) Safari/417.9.3"
	msie6      = "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)"
	msie10     = "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; Trident/6.0)"
	msie11     = "Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko"
	opera12    = "Opera/9.80 (Windows NT 6.1; U; en) Presto/2.10.289 Version/12.16"
	opera8MSIE = "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; en) Opera 8.50"
	konq35     = "Mozilla/5.0 (compatible; Konqueror/3.5; Linux) KHTML/3.5.10 (like Gecko)"
	netscape4  = "Mozilla/4.72 [en] (X11; U; Linux 2.2.14 i686)"
	lynx       = "Lynx/2.8.9rel.1 libwww-FM/2.14 SSL-MM/1.4.1 OpenSSL/1.1.1d"
)

func modern(name, version string) config.ModernBrowser {
	return config.ModernBrowser{Name: name, Version: config.BrowserVersion(version)}
}

// TestModern checks the verdicts of nginx's ngx_http_browser for rules and
// User-Agents (nginx 1.22.1 answered the same through $modern_browser;
// see internal/daemon's TestBrowserVariables).
func TestModern(t *testing.T) {
	typical := &config.Browser{
		Modern:   []config.ModernBrowser{modern("gecko", "1.0"), modern("msie", "9.0"), modern("opera", "9.0"), modern("safari", "413"), modern("konqueror", "3.5")},
		Unlisted: true, Ancient: []string{"Links", "Lynx"}, Netscape4: true,
	}
	listOnly := &config.Browser{Modern: []config.ModernBrowser{modern("msie", "9.0")}}
	tests := []struct {
		name    string
		b       *config.Browser
		ua      string
		present bool
		want    bool
	}{
		{"nothing configured", &config.Browser{}, firefox120, true, false},
		{"nothing configured, no field", &config.Browser{}, "", false, false},
		{"unlisted, no field", &config.Browser{Unlisted: true}, "", false, true},
		{"list without unlisted, no field", listOnly, "", false, false},
		{"firefox 120", typical, firefox120, true, true},
		{"firefox 3.6 is gecko 1.9.2.3", typical, firefox36, true, true},
		{"chrome is safari 537.36", typical, chrome120, true, true},
		{"safari 17 is safari 605.1.15", typical, safari17, true, true},
		{"safari 2 is 417.9.3", typical, safari2, true, true},
		{"msie 6 under 9.0", typical, msie6, true, false},
		{"msie 10", typical, msie10, true, true},
		{"msie 11 is gecko 11.0", typical, msie11, true, true},
		{"opera 12 is opera 9.80", typical, opera12, true, true},
		{"opera 8 that says MSIE 6.0", typical, opera8MSIE, true, false},
		{"konqueror 3.5", typical, konq35, true, true},
		{"netscape 4", typical, netscape4, true, false},
		{"lynx", typical, lynx, true, false},
		{"curl is unlisted", typical, "curl/8.5.0", true, true},
		{"empty field is unlisted", typical, "", true, true},
		{"list only: unlisted is ancient", listOnly, firefox120, true, false},
		{"list only: msie 10", listOnly, msie10, true, true},
		{"list only: opera saying MSIE 10 gets the unreachable Opera", listOnly, "Mozilla/4.0 (compatible; MSIE 10.0; Windows NT 5.1) Opera 12.0", true, false},
		{"unreachable Opera reached by an absurd version", listOnly, "Opera/4001", true, true},
		{"msie before 25 bytes is not found", listOnly, "MSIE 10.0 (short)", true, false},
		{"nothing after the name", listOnly, "Mozilla/4.0 (compatible; MSIE ", true, false},
		{"version at the end", listOnly, "Mozilla/4.0 (compatible; MSIE 9", true, true},
		{"first line of a browser decides", &config.Browser{Modern: []config.ModernBrowser{modern("msie", "9.0"), modern("msie", "6.0")}, Unlisted: true}, "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1)", true, false},
		{"first line of a browser decides, other order", &config.Browser{Modern: []config.ModernBrowser{modern("msie", "6.0"), modern("msie", "9.0")}}, "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1)", true, true},
		{"a part over 99 carries", &config.Browser{Modern: []config.ModernBrowser{modern("gecko", "2.0")}}, "Mozilla/5.0 (X11; rv:1.100) Gecko", true, true},
		{"a part past the fourth counts for nothing", &config.Browser{Modern: []config.ModernBrowser{modern("gecko", "1.0.0.0.1")}}, "Mozilla/5.0 (X11; rv:1.0) Gecko", true, true},
		{"netscape4 needs more than 13 bytes", &config.Browser{Netscape4: true, Unlisted: true}, "Mozilla/4.72 ", true, true},
		{"netscape4, 14 bytes", &config.Browser{Netscape4: true, Unlisted: true}, "Mozilla/4.72 x", true, false},
		{"netscape4 is not Mozilla/5", &config.Browser{Netscape4: true, Unlisted: true}, firefox120, true, true},
		{"ancient substrings are case-sensitive", &config.Browser{Ancient: []string{"Lynx"}, Unlisted: true}, "lynx/2.8", true, true},
		{"an empty ancient substring matches all", &config.Browser{Ancient: []string{""}, Unlisted: true}, firefox120, true, false},
		{"a listed browser is not looked up in ancient_browser", &config.Browser{Modern: []config.ModernBrowser{modern("gecko", "1.0")}, Ancient: []string{"Firefox"}, Unlisted: true}, firefox120, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := New(tt.b).Modern(tt.ua, tt.present); got != tt.want {
				t.Errorf("Modern(%q, %v) = %v, want %v", tt.ua, tt.present, got, tt.want)
			}
		})
	}
}

// TestZeroRules: the zero Rules finds every browser ancient.
func TestZeroRules(t *testing.T) {
	var r Rules
	for _, ua := range []string{firefox120, msie6, ""} {
		if r.Modern(ua, ua != "") {
			t.Errorf("zero Rules: %q modern", ua)
		}
	}
}

// TestMSIE checks nginx's $msie mark.
func TestMSIE(t *testing.T) {
	tests := []struct {
		ua   string
		want bool
	}{
		{msie6, true},
		{msie10, true},
		{msie11, false},
		{opera8MSIE, false},
		{chrome120, false},
		{"MSIE 6.0", true},
		{"MSIE 6.", false}, // three bytes after "MSIE " are needed
		{"x MSIE 6.0x", true},
		{"msie 6.0 lower case", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := MSIE(tt.ua); got != tt.want {
			t.Errorf("MSIE(%q) = %v, want %v", tt.ua, got, tt.want)
		}
	}
}

// TestModernAllocs: the test allocates nothing.
func TestModernAllocs(t *testing.T) {
	r := New(&config.Browser{Modern: []config.ModernBrowser{modern("gecko", "1.0"), modern("msie", "9.0")}, Ancient: []string{"Lynx"}, Unlisted: true})
	if n := testing.AllocsPerRun(100, func() { r.Modern(chrome120, true) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// TestKeepaliveBrowsers checks MSIE6 and Safari against what nginx 1.22.1
// did with keepalive_disable: the User-Agents whose POST (msie6) or any
// request (safari) got "Connection: close" (recorded by sending each one).
func TestKeepaliveBrowsers(t *testing.T) {
	tests := []struct {
		ua            string
		msie6, safari bool
	}{
		{"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)", true, false},
		{"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", false, false},
		{"Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)", true, false},
		{"Mozilla/4.0 (compatible; MSIE 4.01; Windows 98)", true, false},
		{"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)", false, false},
		{"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1) Opera 8.0", false, false},
		{"MSIE 6.0", true, false},
		{"xMSIE 6.0", true, false},
		{"MSIE 6.", false, false},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15", false, true},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", false, false},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Gecko/20100101 Safari/605", false, false},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", false, false},
		{"Safari/1 Mac OS X", false, true},
		{"Konqueror Safari/1 Mac OS X", false, true},
		{"Opera Safari/1 Mac OS X", false, false},
		{"MSIE 6.0; Safari/1 Mac OS X", true, false},
	}
	for _, tt := range tests {
		if got := MSIE6(tt.ua); got != tt.msie6 {
			t.Errorf("MSIE6(%q) = %v, want %v", tt.ua, got, tt.msie6)
		}
		if got := Safari(tt.ua); got != tt.safari {
			t.Errorf("Safari(%q) = %v, want %v", tt.ua, got, tt.safari)
		}
	}
}

// TestChrome checks Chrome against the User-Agents whose 404 nginx 1.22.1
// padded (msie_padding) without being Internet Explorer.
func TestChrome(t *testing.T) {
	for ua, want := range map[string]bool{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36":         true,
		"Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0": true,
		"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0":                                    false,
		"Opera/9.80 Chrome/1": false,
		"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1) Chrome/1":                                                           false,
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15": false,
	} {
		if got := Chrome(ua); got != want {
			t.Errorf("Chrome(%q) = %v, want %v", ua, got, want)
		}
	}
}
