package config

import (
	"reflect"
	"slices"
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
		{"proxy_cache_path /c keys_zone=x:1m manager_files=x;", "", `invalid manager_files value "manager_files=x" in nginx.conf:2`},
		{"proxy_cache_path /c keys_zone=x:1m loader_files=-1;", "", `invalid loader_files value "loader_files=-1" in nginx.conf:2`},
		{"proxy_cache_path /c keys_zone=x:1m loader_sleep=zz;", "", `invalid loader_sleep value "loader_sleep=zz" in nginx.conf:2`},
		{"proxy_cache_path /c keys_zone=x:1m min_free=zz;", "", `invalid min_free value "min_free=zz" in nginx.conf:2`},
		{"proxy_cache_path /c keys_zone=x:1m purger=yes;", "", `invalid purger value "purger=yes", it must be "on" or "off" in nginx.conf:2`},
		{"proxy_cache_path /c keys_zone=x:1m purger_files=x;", "", `invalid purger_files value "purger_files=x" in nginx.conf:2`},
		{"proxy_cache_path /c keys_zone=x:1m purger_sleep=zz;", "", `invalid purger_sleep value "purger_sleep=zz" in nginx.conf:2`},
		{"proxy_cache_path /c keys_zone=x:1m purger_threshold=zz;", "", `invalid purger_threshold value "purger_threshold=zz" in nginx.conf:2`},
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
		"proxy_cache_path cache levels=1:2 keys_zone=pages:10m inactive=1h max_size=1g min_free=1m use_temp_path=off loader_files=10 manager_sleep=20ms loader_threshold=1s manager_files=7 manager_threshold=300ms loader_sleep=0 purger=on purger_files=3 purger_sleep=1s purger_threshold=20ms;\nproxy_cache pages;",
		`proxy_cache_key $uri;
		proxy_cache_valid 10m; proxy_cache_valid 404 any 1m;
		proxy_cache_methods POST; proxy_cache_min_uses 0;
		proxy_cache_bypass $arg_a $arg_b; proxy_cache_bypass $arg_c; proxy_no_cache $arg_d;
		proxy_cache_purge $purge_method; proxy_cache_purge $arg_purge;
		proxy_cache_use_stale error http_500 updating;
		proxy_cache_lock on; proxy_cache_lock_timeout 1s; proxy_cache_lock_age 2s;
		proxy_cache_revalidate on; proxy_cache_background_update on; proxy_cache_convert_head off;
		proxy_ignore_headers Set-Cookie vary x-accel-buffering; proxy_cache_max_range_offset 1m;`))
	p := cfg.HTTP.CachePaths[0]
	// nginx takes manager_files=0 (a round of one file) and a zero sleep.
	plain := mustLoad(t, cacheConf("proxy_cache_path c keys_zone=x:1m manager_files=0 manager_sleep=0;", "proxy_cache x;")).HTTP.CachePaths[0]
	if plain.Purger || plain.Purge != DefaultPurgerPace {
		t.Errorf("purger = %v %+v, want NGINX Plus's defaults: off, 10 files, 50ms, 50ms", plain.Purger, plain.Purge)
	}
	if plain.Loader != DefaultCachePace || plain.Manager != (CachePace{Files: 0, Sleep: 0, Threshold: 200 * time.Millisecond}) {
		t.Errorf("paces = %+v and %+v, want nginx's defaults but for manager_files=0 manager_sleep=0", plain.Manager, plain.Loader)
	}
	wantPath := CachePath{Module: "proxy", Dir: testPrefix + "/cache", Levels: []int{1, 2}, Name: "pages", Size: 10 << 20,
		Inactive: time.Hour, MaxSize: 1 << 30, MinFree: 1 << 20, UseTempPath: false, Pos: p.Pos,
		Manager: CachePace{Files: 7, Sleep: 20 * time.Millisecond, Threshold: 300 * time.Millisecond},
		Loader:  CachePace{Files: 10, Sleep: 0, Threshold: time.Second},
		Purger:  true, Purge: CachePace{Files: 3, Sleep: time.Second, Threshold: 20 * time.Millisecond}}
	if !reflect.DeepEqual(*p, wantPath) {
		t.Errorf("path = %+v\nwant %+v", *p, wantPath)
	}
	if !cfg.HTTP.Servers[0].Locations[0].Settings.IgnoreAccelBuffering {
		t.Error("proxy_ignore_headers X-Accel-Buffering not kept")
	}
	got := cfg.HTTP.Servers[0].Locations[0].Settings.ProxyCache
	want := CacheSettings{Zone: p, Key: "$uri",
		Valid:   []CacheValid{{Codes: []int{200, 301, 302}, Time: 10 * time.Minute}, {Codes: []int{404}, Any: true, Time: time.Minute}},
		Methods: []string{"POST"}, MinUses: 0,
		Bypass: []string{"$arg_a", "$arg_b", "$arg_c"}, NoCache: []string{"$arg_d"}, Purge: []string{"$purge_method", "$arg_purge"},
		UseStale: NextError | NextHTTP500, StaleUpdating: true,
		Lock: true, LockTimeout: time.Second, LockAge: 2 * time.Second,
		Revalidate: true, BackgroundUpdate: true, ConvertHead: false,
		IgnoreSetCookie: true, IgnoreVary: true, LimitRanges: true, MaxRangeOffset: 1 << 20}
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
	// Without proxy_cache_max_range_offset every range may be cached.
	if s := cfg.HTTP.Servers[0].Locations[0].Settings.ProxyCache; s.LimitRanges {
		t.Errorf("proxy_cache_max_range_offset set by default: %d", s.MaxRangeOffset)
	}
	// off in proxy_cache_use_stale turns the others off.
	cfg = mustLoad(t, cacheConf("proxy_cache_path /c keys_zone=x:1m;", "proxy_cache_use_stale off error updating;"))
	if s := cfg.HTTP.Servers[0].Locations[0].Settings.ProxyCache; s.UseStale != 0 || s.StaleUpdating {
		t.Errorf("use_stale off: %v %v", s.UseStale, s.StaleUpdating)
	}
}

// cgiCacheConf puts http-level lines h and location lines l around a
// fastcgi_pass.
func cgiCacheConf(h, l string) string {
	return "http {\n" + h + "\nserver { listen 80;\nlocation / { fastcgi_pass 127.0.0.1:9000;\n" + l + "\n}}}\n"
}

// TestCGICacheErrors: the zones of proxy_cache_path, fastcgi_cache_path,
// scgi_cache_path and uwsgi_cache_path share one namespace, and a *_cache
// directive takes only its own module's zones (nginx 1.22.1's nginx -t
// words, with fulcrum's hints after them).
func TestCGICacheErrors(t *testing.T) {
	const zone = "fastcgi_cache_path /c keys_zone=x:1m;"
	tests := []struct{ h, l, want string }{
		{"", "fastcgi_cache x;", `"fastcgi_cache" zone "x" is unknown in nginx.conf:5`},
		{"proxy_cache_path /c keys_zone=x:1m;", "fastcgi_cache x;", `the shared memory zone "x" is already declared for a different use in nginx.conf:5`},
		{"scgi_cache_path /c keys_zone=x:1m;", "fastcgi_cache x;", `the shared memory zone "x" is already declared for a different use in nginx.conf:5`},
		{zone, "proxy_cache x;", `the shared memory zone "x" is already declared for a different use in nginx.conf:5`},
		{zone + " proxy_cache_path /d keys_zone=x:1m;", "", `the shared memory zone "x" is already declared for a different use in nginx.conf:2`},
		{zone + " fastcgi_cache_path /d keys_zone=x:1m;", "", `duplicate zone "x" in nginx.conf:2`},
		{zone + " uwsgi_cache_path /c keys_zone=y:1m;", "", `the same path name "/c" used in `},
		{"uwsgi_cache_path /c levels=1:2;", "", `"uwsgi_cache_path" must have "keys_zone" parameter in nginx.conf:2`},
		{zone, "fastcgi_cache x; fastcgi_cache_valid 200 zz;", `invalid time value "zz" in nginx.conf:5`},
		{zone, "fastcgi_cache x; fastcgi_cache_use_stale http_502;", `invalid value "http_502" in nginx.conf:5`},
		{zone, "fastcgi_cache x; fastcgi_cache_methods PUT;", `invalid value "PUT" in nginx.conf:5`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := loadText(t, cgiCacheConf(tt.h, tt.l))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCGICacheSettings(t *testing.T) {
	cfg := mustLoad(t, cgiCacheConf(
		"fastcgi_cache_path cache levels=1:2 keys_zone=php:10m inactive=1h;\nfastcgi_cache php;",
		`fastcgi_cache_key $request_method$host$request_uri;
		fastcgi_cache_valid 10m; fastcgi_cache_valid 404 any 1m;
		fastcgi_cache_methods post; fastcgi_cache_min_uses 2;
		fastcgi_cache_bypass $arg_a $arg_b; fastcgi_cache_bypass $arg_c; fastcgi_no_cache $arg_d;
		fastcgi_cache_use_stale error http_500 updating;
		fastcgi_cache_lock on; fastcgi_cache_lock_timeout 1s; fastcgi_cache_lock_age 2s;
		fastcgi_cache_revalidate on; fastcgi_cache_background_update on;
		fastcgi_ignore_headers Set-Cookie vary X-Accel-Redirect x-accel-buffering; fastcgi_ignore_client_abort on;
		fastcgi_cache_max_range_offset 0;`))
	p := cfg.HTTP.CachePaths[0]
	if p.Module != "fastcgi" || p.Name != "php" {
		t.Errorf("path = %+v", *p)
	}
	loc := cfg.HTTP.Servers[0].Locations[0].Settings
	want := CacheSettings{Zone: p, Key: "$request_method$host$request_uri",
		Valid:   []CacheValid{{Codes: []int{200, 301, 302}, Time: 10 * time.Minute}, {Codes: []int{404}, Any: true, Time: time.Minute}},
		Methods: []string{"POST"}, MinUses: 2,
		Bypass: []string{"$arg_a", "$arg_b", "$arg_c"}, NoCache: []string{"$arg_d"},
		UseStale: NextError | NextHTTP500, StaleUpdating: true,
		Lock: true, LockTimeout: time.Second, LockAge: 2 * time.Second,
		Revalidate: true, BackgroundUpdate: true,
		IgnoreSetCookie: true, IgnoreVary: true, LimitRanges: true}
	if loc.FastCGI.Cache == nil || !reflect.DeepEqual(*loc.FastCGI.Cache, want) {
		t.Errorf("settings = %+v\nwant %+v", loc.FastCGI.Cache, want)
	}
	if !loc.FastCGI.IgnoreAccelBuffering || loc.SCGI.IgnoreAccelBuffering || loc.IgnoreAccelBuffering {
		t.Error("fastcgi_ignore_headers X-Accel-Buffering not kept, or kept for another module")
	}
	if !loc.FastCGI.IgnoreAccelRedirect || !loc.FastCGI.IgnoreClientAbort || loc.SCGI.IgnoreClientAbort || loc.ProxyCache.Zone != nil || loc.SCGI.Cache != nil {
		t.Errorf("fastcgi_cache leaked: %+v", loc)
	}
	// The server inherits http's zone; off cancels it; without a key,
	// nginx's warning (its key is then empty: one entry for every request).
	cfg = mustLoad(t, cgiCacheConf("scgi_cache_path /c keys_zone=x:1m; scgi_cache x;", "scgi_cache off;"))
	if c := cfg.HTTP.Servers[0].Locations[0].Settings.SCGI.Cache; c != nil {
		t.Errorf("scgi_cache off: %+v", c)
	}
	if c := cfg.HTTP.Servers[0].Settings.SCGI.Cache; c == nil || c.Zone.Name != "x" || c.Key != "" {
		t.Errorf("server does not inherit http's scgi_cache: %+v", c)
	}
	var msgs []string
	for _, w := range cfg.Warnings {
		msgs = append(msgs, w.Msg)
	}
	if !slices.Contains(msgs, `no "scgi_cache_key" for "scgi_cache"`) {
		t.Errorf("warnings %q, want the missing key's", msgs)
	}
}

// TestCGICachePurge: fastcgi_cache_purge, scgi_cache_purge and
// uwsgi_cache_purge (NGINX Plus's) land in their module's cache settings,
// inherited from the server level as *_cache_bypass is; purger= on the
// *_cache_path of each module.
func TestCGICachePurge(t *testing.T) {
	for _, m := range []string{"fastcgi", "scgi", "uwsgi"} {
		t.Run(m, func(t *testing.T) {
			src := "http {\n" + m + "_cache_path c keys_zone=z:1m purger=on purger_files=2;\nserver { listen 80;\n" +
				m + "_cache_purge $arg_p $arg_q;\nlocation / { " + m + "_pass 127.0.0.1:9000; " + m + "_cache z; }}}\n"
			cfg := mustLoad(t, src)
			if p := cfg.HTTP.CachePaths[0]; !p.Purger || p.Purge.Files != 2 || p.Purge.Sleep != DefaultPurgerPace.Sleep {
				t.Errorf("path purger %v %+v", p.Purger, p.Purge)
			}
			st := cfg.HTTP.Servers[0].Locations[0].Settings
			f := map[string]FastCGI{"fastcgi": st.FastCGI, "scgi": st.SCGI, "uwsgi": st.UWSGI}[m]
			if f.Cache == nil || !reflect.DeepEqual(f.Cache.Purge, []string{"$arg_p", "$arg_q"}) {
				t.Errorf("%s_cache_purge: %+v", m, f.Cache)
			}
		})
	}
}

// TestCacheZoneValue: a *_cache value with variables is kept as written for
// the request to name its zone (nginx's ngx_http_proxy_cache: a "$" makes
// it a complex value, checked per request), "off" and a later level's
// fixed zone cancel it, and proxy_store turns it off as it does a zone; a
// value without variables still names a zone that must exist.
func TestCacheZoneValue(t *testing.T) {
	const zones = "proxy_cache_path /c keys_zone=one:1m; proxy_cache_path /d keys_zone=two:1m; fastcgi_cache_path /f keys_zone=f:1m;"
	tests := []struct {
		name, h, l, value, zone string
	}{
		{"location", zones, "proxy_cache $arg_z;", "$arg_z", ""},
		{"prefix and suffix", zones, "proxy_cache my_${arg_z}_x;", "my_${arg_z}_x", ""},
		{"inherited", zones + " proxy_cache $arg_z;", "", "$arg_z", ""},
		{"fixed below", zones + " proxy_cache $arg_z;", "proxy_cache two;", "", "two"},
		{"off below", zones + " proxy_cache $arg_z;", "proxy_cache off;", "", ""},
		{"store below", zones + " proxy_cache $arg_z;", "proxy_store on;", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := mustLoad(t, cacheConf(tt.h, tt.l)).HTTP.Servers[0].Locations[0].Settings.ProxyCache
			zone := ""
			if set.Zone != nil {
				zone = set.Zone.Name
			}
			if set.ZoneValue != tt.value || zone != tt.zone || set.On() != (tt.value != "" || tt.zone != "") {
				t.Errorf("value %q zone %q on %v, want %q %q", set.ZoneValue, zone, set.On(), tt.value, tt.zone)
			}
			if tt.value != "" && set.ZonePos.Line == 0 {
				t.Error("no position for the value's errors")
			}
		})
	}
	cfg := mustLoad(t, "http {\n"+zones+"\nserver { listen 80;\nlocation / { fastcgi_pass 127.0.0.1:9000;\nfastcgi_cache $arg_z;\n}}}\n")
	if c := cfg.HTTP.Servers[0].Locations[0].Settings.FastCGI.Cache; c == nil || c.ZoneValue != "$arg_z" || c.Zone != nil {
		t.Errorf("fastcgi_cache $arg_z: %+v", c)
	}
	if _, err := loadText(t, cacheConf(zones, "proxy_cache three;")); err == nil || !strings.Contains(err.Error(), `"proxy_cache" zone "three" is unknown`) {
		t.Errorf("a fixed zone that does not exist: %v", err)
	}
}

// TestCacheBitmaskLinesAddUp: proxy_ignore_headers, *_cache_use_stale and
// *_cache_methods are nginx bitmask slots (ngx_conf_set_bitmask_slot): a
// level may repeat them, their values add up, and a value given again is
// warned about. nginx 1.22.1 loads an OSM tile cache published with
// "proxy_ignore_headers Set-Cookie;" then "proxy_ignore_headers
// X-Accel-Expires Expires Cache-Control;", and warns (recorded, nginx -t):
//
//	[warn] duplicate value "updating" in f.conf:11   (fastcgi_cache_use_stale)
//	[warn] duplicate value "post" in f.conf:13       (fastcgi_cache_methods)
//	[warn] duplicate value "off" in f.conf:17        (proxy_cache_use_stale)
//	[warn] duplicate value "expires" in f.conf:19    (uwsgi_ignore_headers)
//
// fulcrum refused the second line ("directive is duplicate").
func TestCacheBitmaskLinesAddUp(t *testing.T) {
	cfg, err := loadText(t, cacheConf("proxy_cache_path /c keys_zone=x:1m; fastcgi_cache_path /f keys_zone=f:1m;\nproxy_cache x;",
		`proxy_ignore_headers Set-Cookie;
		proxy_ignore_headers X-Accel-Expires Expires Cache-Control set-cookie;
		proxy_cache_use_stale error updating;
		proxy_cache_use_stale http_500 updating;
		proxy_cache_methods GET POST;
		proxy_cache_methods post;
		fastcgi_cache f;
		fastcgi_cache_key $uri;
		fastcgi_cache_use_stale error;
		fastcgi_cache_use_stale timeout error;
		fastcgi_cache_methods POST;
		fastcgi_cache_methods POST;
		fastcgi_ignore_headers Vary;
		fastcgi_ignore_headers Expires vary;
		uwsgi_ignore_headers Expires;
		uwsgi_ignore_headers expires;`))
	if err != nil {
		t.Fatal(err)
	}
	set := cfg.HTTP.Servers[0].Locations[0].Settings
	c := set.ProxyCache
	if !c.IgnoreSetCookie || !c.IgnoreXAccelExpires || !c.IgnoreExpires || !c.IgnoreCacheControl || c.IgnoreVary {
		t.Errorf("proxy_ignore_headers: %+v, want Set-Cookie, X-Accel-Expires, Expires and Cache-Control", c)
	}
	if c.UseStale != NextError|NextHTTP500 || !c.StaleUpdating {
		t.Errorf("proxy_cache_use_stale = %v updating %v, want error http_500 updating", c.UseStale, c.StaleUpdating)
	}
	if !slices.Equal(c.Methods, []string{"POST"}) {
		t.Errorf("proxy_cache_methods = %q, want POST", c.Methods)
	}
	f := set.FastCGI.Cache
	if f == nil || f.UseStale != NextError|NextTimeout || !slices.Equal(f.Methods, []string{"POST"}) || !f.IgnoreVary || !f.IgnoreExpires {
		t.Errorf("fastcgi cache settings = %+v, want error timeout, POST, Vary and Expires ignored", f)
	}
	got := warningMessages(cfg.Warnings)
	slices.Sort(got)
	want := []string{`duplicate value "POST"`, `duplicate value "error"`, `duplicate value "expires"`,
		`duplicate value "post"`, `duplicate value "set-cookie"`, `duplicate value "updating"`, `duplicate value "vary"`}
	if !slices.Equal(got, want) {
		t.Errorf("warnings %q\nwant %q", got, want)
	}
}
