package config

import (
	"reflect"
	"testing"
)

// TestBrowserMerge checks nginx 1.22's merge of the browser module: the
// modern_browser lines (with unlisted) come together from the nearest
// level that writes any, the ancient_browser lines (with netscape4)
// likewise, each value on its own.
func TestBrowserMerge(t *testing.T) {
	cfg := mustLoad(t, `http {
    modern_browser gecko 5.0; modern_browser MSIE 9.0; modern_browser unlisted;
    ancient_browser Lynx "Links"; ancient_browser netscape4;
    modern_browser_value new;
    server {
        listen 127.0.0.1:1;
        location /inherit { }
        location /unlisted { modern_browser unlisted; }
        location /list { modern_browser opera 9.80; }
        location /n4 { ancient_browser netscape4; ancient_browser_value old; }
    }
    server { listen 127.0.0.1:2; modern_browser_value ""; }
}`)
	s := cfg.HTTP.Servers
	list := []ModernBrowser{{Name: "gecko", Version: 5000000}, {Name: "msie", Version: 9000000}}
	tests := []struct {
		name      string
		got, want Browser
	}{
		{"server", s[0].Settings.Browser, Browser{Modern: list, Unlisted: true, Ancient: []string{"Lynx", "Links"}, Netscape4: true, ModernValue: "new", AncientValue: "1"}},
		{"inherit", s[0].Locations[0].Settings.Browser, Browser{Modern: list, Unlisted: true, Ancient: []string{"Lynx", "Links"}, Netscape4: true, ModernValue: "new", AncientValue: "1"}},
		{"unlisted alone keeps no list", s[0].Locations[1].Settings.Browser, Browser{Unlisted: true, Ancient: []string{"Lynx", "Links"}, Netscape4: true, ModernValue: "new", AncientValue: "1"}},
		{"a list alone keeps no unlisted", s[0].Locations[2].Settings.Browser, Browser{Modern: []ModernBrowser{{Name: "opera", Version: 9800000}}, Ancient: []string{"Lynx", "Links"}, Netscape4: true, ModernValue: "new", AncientValue: "1"}},
		{"netscape4 alone keeps no substrings", s[0].Locations[3].Settings.Browser, Browser{Modern: list, Unlisted: true, Netscape4: true, ModernValue: "new", AncientValue: "old"}},
		{"empty value", s[1].Settings.Browser, Browser{Modern: list, Unlisted: true, Ancient: []string{"Lynx", "Links"}, Netscape4: true, ModernValue: "", AncientValue: "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", tt.got, tt.want)
			}
		})
	}
}

// TestBrowserVersion checks nginx's number for a modern_browser version.
func TestBrowserVersion(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
	}{
		{"", 0},
		{"9", 9000000},
		{"9.0", 9000000},
		{"9.8", 9080000},
		{"9.80", 9800000},
		{"1.9.2.3", 1090203},
		{"4000.99.99.99", 4000999999},
		{"1.100", 2000000},      // a part over 99 carries
		{"1.0.0.0.7", 1000000},  // the fifth part weighs nothing
		{"1..2", 1000200},       // an empty part is 0
		{"605.1.15", 605011500}, // Safari 17's WebKit number
		{"537.36", 537360000},   // Chrome's
	}
	for _, tt := range tests {
		if got := BrowserVersion(tt.in); got != tt.want {
			t.Errorf("BrowserVersion(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
