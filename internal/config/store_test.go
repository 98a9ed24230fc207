package config

import (
	"io/fs"
	"strings"
	"testing"
)

// TestStore checks proxy_store, fastcgi_store, scgi_store and uwsgi_store
// and their _access, values and errors as nginx 1.22 reads them (the same
// reader for all four; each prefix conflicts with its own cache). P_ in a
// case stands for the prefix.
func TestStore(t *testing.T) {
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
		{"yes is a file name", "", "P_store yes;", "yes", 0o600, false, ""},
		{"off", "P_store on;", "P_store off;", "", 0o600, false, ""},
		{"inherited", "P_store on;", "", StoreRequestFilename, 0o600, false, ""},
		{"access rw r", "", "P_store_access user:rw group:rw all:r;", "", 0o664, false, ""},
		{"access user r", "", "P_store_access user:r;", "", 0o400, false, ""},
		{"access group r keeps user rw", "", "P_store_access group:r;", "", 0o640, false, ""},
		{"access all rw user r", "", "P_store_access all:rw user:r;", "", 0o406, false, ""},
		{"access inherited", "P_store_access all:rw user:r;", "", "", 0o406, false, ""},
		{"cache off and store", "", "P_store off; P_cache z;", "", 0o600, true, ""},
		{"inherited store turns own cache off", "P_store on;", "P_cache z;", StoreRequestFilename, 0o600, false, ""},
		{"own store turns inherited cache off", "P_cache z;", "P_store on;", StoreRequestFilename, 0o600, false, ""},
		{"store then cache", "", "P_store on;\nP_cache z;", "", 0, false, `"P_cache" directive is incompatible with "P_store" in nginx.conf:6`},
		{"cache then store", "", "P_cache z;\nP_store /x$uri;", "", 0, false, `"P_store" directive is incompatible with "P_cache" in nginx.conf:6`},
		{"duplicate", "", "P_store on;\nP_store off;", "", 0, false, `"P_store" directive is duplicate in nginx.conf:6`},
		{"access rwx", "", "P_store_access user:rwx;", "", 0, false, `invalid value "user:rwx" in nginx.conf:5`},
		{"access who", "", "P_store_access foo:rw;", "", 0, false, `invalid value "foo:rw" in nginx.conf:5`},
		{"access w", "", "P_store_access group:w;", "", 0, false, `invalid value "group:w" in nginx.conf:5`},
	}
	// store returns a location's store settings under prefix, and whether
	// its cache is on.
	store := func(st *Settings, prefix string) (string, fs.FileMode, bool) {
		if prefix == "proxy" {
			return st.ProxyStore, st.ProxyStoreAccess, st.ProxyCache.Zone != nil
		}
		f := map[string]FastCGI{"fastcgi": st.FastCGI, "scgi": st.SCGI, "uwsgi": st.UWSGI}[prefix]
		return f.Store, f.StoreAccess, f.Cache != nil
	}
	for _, prefix := range []string{"proxy", "fastcgi", "scgi", "uwsgi"} {
		pass := prefix + "_pass 127.0.0.1:9;"
		if prefix == "proxy" {
			pass = "proxy_pass http://127.0.0.1:9;"
		}
		for _, tt := range tests {
			t.Run(prefix+" "+tt.name, func(t *testing.T) {
				p := func(s string) string { return strings.ReplaceAll(s, "P_", prefix+"_") }
				src := "http {\n" + prefix + "_cache_path /tmp/fulcrum-store-test keys_zone=z:1m;\nserver { " + p(tt.server) +
					"\nlocation / { " + pass + "\n" + p(tt.loc) + "\n} } }\n"
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
				got, access, cached := store(cfg.HTTP.Servers[0].Locations[0].Settings, prefix)
				if got != tt.store || access != tt.access {
					t.Errorf("store %q access %o, want %q %o", got, access, tt.store, tt.access)
				}
				if cached != tt.cached {
					t.Errorf("cached %v, want %v", cached, tt.cached)
				}
			})
		}
	}
}
