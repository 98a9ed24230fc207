package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// cacheConf puts http-level lines h and location lines l around a proxy_pass.
func cacheConf(h, l string) string {
	return "http {\n" + h + "\nserver { listen 80;\nlocation / { proxy_pass http://127.0.0.1:9000;\n" + l + "\n}}}\n"
}

// TestCacheErrors: the messages are nginx 1.22.1's (nginx -t with the same
// lines), with fulcrum's hints after them.
func TestCacheErrors(t *testing.T) {
	const zone = "proxy_cache_path /c keys_zone=x:1m;"
	tests := []struct{ h, l, want string }{
		{"", "proxy_cache x;", `"proxy_cache" zone "x" is unknown in nginx.conf:5`},
		{"proxy_cache_path /c keys_zone=x;", "", `invalid keys zone size "keys_zone=x" in nginx.conf:2`},
		{"proxy_cache_path /c keys_zone=x:1k;", "", `keys zone "keys_zone=x:1k" is too small in nginx.conf:2`},
		{"proxy_cache_path /c levels=3 keys_zone=x:1m;", "", `invalid "levels" "levels=3" in nginx.conf:2`},
		{"proxy_cache_path /c levels=1:2:2:2 keys_zone=x:1m;", "", `invalid "levels" "levels=1:2:2:2" in nginx.conf:2`},
		{"proxy_cache_path /c foo=1 keys_zone=x:1m;", "", `invalid parameter "foo=1" in nginx.conf:2`},
		{"proxy_cache_path /c levels=1:2;", "", `"proxy_cache_path" must have "keys_zone" parameter in nginx.conf:2`},
		{"proxy_cache_path /c keys_zone=x:1m inactive=zz;", "", `invalid inactive value "inactive=zz" in nginx.conf:2`},
		{"proxy_cache_path /c keys_zone=x:1m max_size=zz;", "", `invalid max_size value "max_size=zz" in nginx.conf:2`},
		{"proxy_cache_path /c keys_zone=x:1m use_temp_path=maybe;", "", `invalid use_temp_path value "use_temp_path=maybe", it must be "on" or "off" in nginx.conf:2`},
		{"proxy_cache_path /c keys_zone=x:1m; proxy_cache_path /d keys_zone=x:1m;", "", `duplicate zone "x" in nginx.conf:2`},
		{"proxy_cache_path /c keys_zone=x:1m; proxy_cache_path /c keys_zone=y:1m;", "", `the same path name "/c" used in ` /* then the first one's full path */},
		{"proxy_cache_path /c keys_zone=x:1m purger=on;", "", `invalid parameter "purger=on" in nginx.conf:2`},
		{zone, "proxy_cache x; proxy_cache x;", `"proxy_cache" directive is duplicate in nginx.conf:5`},
		{zone, "proxy_cache_key a; proxy_cache_key b;", `"proxy_cache_key" directive is duplicate in nginx.conf:5`},
		{zone, "proxy_cache_valid 999 1m;", `invalid status "999" in nginx.conf:5`},
		{zone, "proxy_cache_valid abc 1m;", `invalid status "abc" in nginx.conf:5`},
		{zone, "proxy_cache_valid 10m 200;", `invalid status "10m" in nginx.conf:5`},
		{zone, "proxy_cache_valid 200 zz;", `invalid time value "zz" in nginx.conf:5`},
		{zone, "proxy_cache_use_stale foo;", `invalid value "foo" in nginx.conf:5`},
		{zone, "proxy_cache_use_stale non_idempotent;", `invalid value "non_idempotent" in nginx.conf:5`},
		{zone, "proxy_cache_methods GET PUT;", `invalid value "PUT" in nginx.conf:5`},
		{zone, "proxy_no_cache;", `invalid number of arguments in "proxy_no_cache" directive in nginx.conf:5`},
		{zone, "proxy_cache $host;", `"proxy_cache" with variables is not supported in nginx.conf:5`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := loadText(t, cacheConf(tt.h, tt.l))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCacheSettings(t *testing.T) {
	cfg := mustLoad(t, cacheConf(
		"proxy_cache_path cache levels=1:2 keys_zone=pages:10m inactive=1h max_size=1g min_free=1m use_temp_path=off loader_files=10 manager_sleep=50ms;\nproxy_cache pages;",
		`proxy_cache_key $uri;
		proxy_cache_valid 10m; proxy_cache_valid 404 any 1m;
		proxy_cache_methods POST; proxy_cache_min_uses 0;
		proxy_cache_bypass $arg_a $arg_b; proxy_cache_bypass $arg_c; proxy_no_cache $arg_d;
		proxy_cache_use_stale error http_500 updating;
		proxy_cache_lock on; proxy_cache_lock_timeout 1s; proxy_cache_lock_age 2s;
		proxy_cache_revalidate on; proxy_cache_background_update on; proxy_cache_convert_head off;
		proxy_ignore_headers Set-Cookie vary;`))
	p := cfg.HTTP.CachePaths[0]
	wantPath := CachePath{Dir: testPrefix + "/cache", Levels: []int{1, 2}, Name: "pages", Size: 10 << 20,
		Inactive: time.Hour, MaxSize: 1 << 30, MinFree: 1 << 20, UseTempPath: false, Pos: p.Pos}
	if !reflect.DeepEqual(*p, wantPath) {
		t.Errorf("path = %+v\nwant %+v", *p, wantPath)
	}
	got := cfg.HTTP.Servers[0].Locations[0].Settings.ProxyCache
	want := CacheSettings{Zone: p, Key: "$uri",
		Valid:   []CacheValid{{Codes: []int{200, 301, 302}, Time: 10 * time.Minute}, {Codes: []int{404}, Any: true, Time: time.Minute}},
		Methods: []string{"POST"}, MinUses: 0,
		Bypass: []string{"$arg_a", "$arg_b", "$arg_c"}, NoCache: []string{"$arg_d"},
		UseStale: NextError | NextHTTP500, StaleUpdating: true,
		Lock: true, LockTimeout: time.Second, LockAge: 2 * time.Second,
		Revalidate: true, BackgroundUpdate: true, ConvertHead: false,
		IgnoreSetCookie: true, IgnoreVary: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("settings = %+v\nwant %+v", got, want)
	}
	// proxy_cache off cancels the inherited zone; the server inherits http's.
	cfg = mustLoad(t, cacheConf("proxy_cache_path /c keys_zone=x:1m; proxy_cache x;", "proxy_cache off;"))
	if z := cfg.HTTP.Servers[0].Locations[0].Settings.ProxyCache.Zone; z != nil {
		t.Errorf("proxy_cache off: zone %v", z.Name)
	}
	if z := cfg.HTTP.Servers[0].Settings.ProxyCache.Zone; z == nil || z.Name != "x" {
		t.Errorf("server does not inherit http's proxy_cache")
	}
	// off in proxy_cache_use_stale turns the others off.
	cfg = mustLoad(t, cacheConf("proxy_cache_path /c keys_zone=x:1m;", "proxy_cache_use_stale off error updating;"))
	if s := cfg.HTTP.Servers[0].Locations[0].Settings.ProxyCache; s.UseStale != 0 || s.StaleUpdating {
		t.Errorf("use_stale off: %v %v", s.UseStale, s.StaleUpdating)
	}
}
