package config

import (
	"io/fs"
	"strings"
	"testing"
)

// TestProxyStore checks proxy_store and proxy_store_access values and
// errors as nginx 1.22 reads them.
func TestProxyStore(t *testing.T) {
	tests := []struct {
		name, server, loc string
		store             string
		access            fs.FileMode
		cached            bool
		err               string
	}{
		{"default", "", "", "", 0o600, false, ""},
		{"on", "", "proxy_store on;", StoreRequestFilename, 0o600, false, ""},
		{"string", "", "proxy_store /data$uri;", "/data$uri", 0o600, false, ""},
		{"yes is a file name", "", "proxy_store yes;", "yes", 0o600, false, ""},
		{"off", "proxy_store on;", "proxy_store off;", "", 0o600, false, ""},
		{"inherited", "proxy_store on;", "", StoreRequestFilename, 0o600, false, ""},
		{"access rw r", "", "proxy_store_access user:rw group:rw all:r;", "", 0o664, false, ""},
		{"access user r", "", "proxy_store_access user:r;", "", 0o400, false, ""},
		{"access group r keeps user rw", "", "proxy_store_access group:r;", "", 0o640, false, ""},
		{"access all rw user r", "", "proxy_store_access all:rw user:r;", "", 0o406, false, ""},
		{"cache off and store", "", "proxy_store off; proxy_cache z;", "", 0o600, true, ""},
		{"inherited store turns own cache off", "proxy_store on;", "proxy_cache z;", StoreRequestFilename, 0o600, false, ""},
		{"own store turns inherited cache off", "proxy_cache z;", "proxy_store on;", StoreRequestFilename, 0o600, false, ""},
		{"store then cache", "", "proxy_store on;\nproxy_cache z;", "", 0, false, `"proxy_cache" directive is incompatible with "proxy_store" in nginx.conf:6`},
		{"cache then store", "", "proxy_cache z;\nproxy_store /x$uri;", "", 0, false, `"proxy_store" directive is incompatible with "proxy_cache" in nginx.conf:6`},
		{"duplicate", "", "proxy_store on;\nproxy_store off;", "", 0, false, `"proxy_store" directive is duplicate in nginx.conf:6`},
		{"access rwx", "", "proxy_store_access user:rwx;", "", 0, false, `invalid value "user:rwx" in nginx.conf:5`},
		{"access who", "", "proxy_store_access foo:rw;", "", 0, false, `invalid value "foo:rw" in nginx.conf:5`},
		{"access w", "", "proxy_store_access group:w;", "", 0, false, `invalid value "group:w" in nginx.conf:5`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "http {\nproxy_cache_path /tmp/fulcrum-store-test keys_zone=z:1m;\nserver { " + tt.server + "\nlocation / { proxy_pass http://127.0.0.1:9;\n" + tt.loc + "\n} } }\n"
			cfg, err := loadText(t, src)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st := cfg.HTTP.Servers[0].Locations[0].Settings
			if st.ProxyStore != tt.store || st.ProxyStoreAccess != tt.access {
				t.Errorf("store %q access %o, want %q %o", st.ProxyStore, st.ProxyStoreAccess, tt.store, tt.access)
			}
			if cached := st.ProxyCache.Zone != nil; cached != tt.cached {
				t.Errorf("cached %v, want %v", cached, tt.cached)
			}
		})
	}
}

// TestCGIStore checks fastcgi_store, scgi_store and uwsgi_store and their
// _access, read as proxy_store's, with their own cache's conflicts.
func TestCGIStore(t *testing.T) {
	tests := []struct {
		name, server, loc string
		store             string
		access            fs.FileMode
		cached            bool
		err               string
	}{
		{"default", "", "", "", 0o600, false, ""},
		{"on", "", "P_store on;", StoreRequestFilename, 0o600, false, ""},
		{"string", "", "P_store /data$uri;", "/data$uri", 0o600, false, ""},
		{"off", "P_store on;", "P_store off;", "", 0o600, false, ""},
		{"inherited", "P_store on;", "", StoreRequestFilename, 0o600, false, ""},
		{"access", "", "P_store_access user:rw group:rw all:r;", "", 0o664, false, ""},
		{"access all rw user r", "P_store_access all:rw user:r;", "", "", 0o406, false, ""},
		{"cache off and store", "", "P_store off; P_cache z;", "", 0o600, true, ""},
		{"inherited store turns own cache off", "P_store on;", "P_cache z;", StoreRequestFilename, 0o600, false, ""},
		{"own store turns inherited cache off", "P_cache z;", "P_store on;", StoreRequestFilename, 0o600, false, ""},
		{"store then cache", "", "P_store on;\nP_cache z;", "", 0, false, `"P_cache" directive is incompatible with "P_store" in nginx.conf:6`},
		{"cache then store", "", "P_cache z;\nP_store /x$uri;", "", 0, false, `"P_store" directive is incompatible with "P_cache" in nginx.conf:6`},
		{"duplicate", "", "P_store on;\nP_store off;", "", 0, false, `"P_store" directive is duplicate in nginx.conf:6`},
		{"access rwx", "", "P_store_access user:rwx;", "", 0, false, `invalid value "user:rwx" in nginx.conf:5`},
		{"access w", "", "P_store_access group:w;", "", 0, false, `invalid value "group:w" in nginx.conf:5`},
	}
	for _, prefix := range []string{"fastcgi", "scgi", "uwsgi"} {
		for _, tt := range tests {
			t.Run(prefix+" "+tt.name, func(t *testing.T) {
				p := func(s string) string { return strings.ReplaceAll(s, "P_", prefix+"_") }
				src := "http {\n" + prefix + "_cache_path /tmp/fulcrum-store-test keys_zone=z:1m;\nserver { " + p(tt.server) +
					"\nlocation / { " + prefix + "_pass 127.0.0.1:9;\n" + p(tt.loc) + "\n} } }\n"
				cfg, err := loadText(t, src)
				if tt.err != "" {
					if err == nil || !strings.HasPrefix(err.Error(), p(tt.err)) {
						t.Fatalf("error %v, want %q", err, p(tt.err))
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				st := cfg.HTTP.Servers[0].Locations[0].Settings
				f := map[string]FastCGI{"fastcgi": st.FastCGI, "scgi": st.SCGI, "uwsgi": st.UWSGI}[prefix]
				if f.Store != tt.store || f.StoreAccess != tt.access {
					t.Errorf("store %q access %o, want %q %o", f.Store, f.StoreAccess, tt.store, tt.access)
				}
				if cached := f.Cache != nil; cached != tt.cached {
					t.Errorf("cached %v, want %v", cached, tt.cached)
				}
			})
		}
	}
}
