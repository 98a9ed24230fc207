package config

import (
	"net/netip"
	"strings"
	"time"
)

// GeoIP2 is a geoip2 block of http or stream (the third-party
// ngx_http_geoip2_module and ngx_stream_geoip2_module 3.4, Debian's
// libnginx-mod-http-geoip2 and libnginx-mod-stream-geoip2): a MaxMind DB
// file and the variables it sets. The file is opened when the
// configuration is built into something that serves (not here), so that
// `fulcrum -t` and a reload report a missing or broken file.
type GeoIP2 struct {
	// File is the database's path, made absolute against the prefix (-p),
	// as the module's ngx_conf_full_name(cycle, name, 0) does.
	File string
	// AutoReload is auto_reload's period: the file's modification time is
	// checked at most this often, and the file read again when it changed.
	// Zero: never.
	AutoReload time.Duration
	// Vars are the block's variable lines, in order.
	Vars []*GeoIP2Var
	Pos  Pos
}

// GeoIP2Var is a line "$name [default=value] [source=$variable] path ...;"
// or "$name metadata field;" of a geoip2 block.
type GeoIP2Var struct {
	// Name is the variable's name, without "$".
	Name string
	// Metadata is build_epoch, last_check or last_change for a metadata
	// line, empty for a data line.
	Metadata string
	// Default is the value when the lookup finds nothing; "" means the
	// variable is then not found (default= with no value is an error, as
	// in the module).
	Default string
	// Source is the address to look up, a string with variables
	// ("$http_x_forwarded_for"); empty means the client's address.
	Source string
	// Path are the map keys and array indexes that select the value.
	Path []string
	Pos  Pos
}

// geoIP2Metadata are the metadata fields a variable may take.
var geoIP2Metadata = map[string]bool{"build_epoch": true, "last_check": true, "last_change": true}

// geoIP2Blocks reads the geoip2 blocks of http or stream.
func (b *builder) geoIP2Blocks(top *scope) ([]*GeoIP2, error) {
	var out []*GeoIP2
	seen := map[string]bool{}
	for _, d := range top.own("geoip2") {
		g := &GeoIP2{File: b.path(d.Args[0]), Pos: d.Pos}
		if seen[g.File] {
			return nil, hintf(d.Pos, "put all the variables of one database in one geoip2 block", "Duplicate GeoIP2 mmdb - %s", g.File)
		}
		seen[g.File] = true
		for _, line := range d.Block {
			if err := g.line(line); err != nil {
				return nil, err
			}
		}
		out = append(out, g)
	}
	return out, nil
}

// line reads one line of the block, as the module's
// ngx_http_geoip2_parse_config.
func (g *GeoIP2) line(d *Directive) error {
	if strings.HasPrefix(d.Name, "$") {
		return g.variable(d)
	}
	if d.Name != "auto_reload" {
		return hintf(d.Pos, `a geoip2 block holds "auto_reload period;" and "$variable [default=value] [source=$address] path ...;" lines`, `invalid setting "%s"`, d.Name)
	}
	if len(d.Args) != 1 {
		return hintf(d.Pos, "write auto_reload 5m;", "invalid number of arguments for auto_reload")
	}
	t, err := parseTime(d.Args[0], true)
	if err != nil {
		return hintf(d.Pos, "write a time such as 60s, 5m or 1h", `invalid interval for auto_reload "%s"`, d.Args[0])
	}
	g.AutoReload = t
	return nil
}

// variable reads a variable line, as ngx_http_geoip2_add_variable.
func (g *GeoIP2) variable(d *Directive) error {
	v := &GeoIP2Var{Name: d.Name[1:], Pos: d.Pos}
	if v.Name == "" {
		return errorf(d.Pos, `invalid variable name "%s"`, d.Name)
	}
	if len(d.Args) > 0 && d.Args[0] == "metadata" {
		if len(d.Args) != 2 || !geoIP2Metadata[d.Args[1]] {
			return hintf(d.Pos, "write $variable metadata build_epoch|last_check|last_change;", `invalid metadata field for "$%s"`, v.Name)
		}
		v.Metadata = d.Args[1]
		g.Vars = append(g.Vars, v)
		return nil
	}
	args := d.Args
	hasDefault := false
	for len(args) > 0 && strings.Contains(args[0], "=") {
		a := args[0]
		switch {
		case len(a) > len("default=") && strings.HasPrefix(a, "default="):
			if hasDefault {
				return errorf(d.Pos, `default has already been declared for  "$%s"`, v.Name)
			}
			v.Default, hasDefault = a[len("default="):], true
		case len(a) > len("source=") && strings.HasPrefix(a, "source="):
			if v.Source != "" {
				return errorf(d.Pos, `source has already been declared for  "$%s"`, v.Name)
			}
			v.Source = a[len("source="):]
			if v.Source[0] != '$' {
				return hintf(d.Pos, "write source=$variable, such as source=$http_x_forwarded_for", `invalid source variable name "%s"`, v.Source)
			}
		default:
			return hintf(d.Pos, `the settings before the path are default=value and source=$variable`, `invalid setting "%s" for "$%s"`, a, v.Name)
		}
		args = args[1:]
	}
	v.Path = args
	g.Vars = append(g.Vars, v)
	return nil
}

// geoIP2Proxies reads http's geoip2_proxy and geoip2_proxy_recursive: a
// client in one of the networks is replaced by the address its
// X-Forwarded-For gives, for the variables without source=.
func (b *builder) geoIP2Proxies(h *HTTP, http *scope) error {
	for _, d := range http.own("geoip2_proxy") {
		n, err := b.proxyNetwork(d, d.Args[0])
		if err != nil {
			return err
		}
		h.GeoIP2Proxies = append(h.GeoIP2Proxies, n)
	}
	for _, d := range http.own("geoip2_proxy_recursive") {
		on, err := parseFlag(d.Args[0])
		if err != nil {
			return errorf(d.Pos, `invalid value "%s" in "%s" directive, it must be "on" or "off"`, d.Args[0], d.Name)
		}
		h.GeoIP2ProxyRecursive = on
	}
	return nil
}

// proxyNetwork reads a trusted network as geo's proxy lines and the
// module's ngx_http_geoip2_cidr_value: a CIDR or an address,
// "255.255.255.255" included; set host bits are cleared with a warning.
func (b *builder) proxyNetwork(d *Directive, s string) (netip.Prefix, error) {
	p := geoParser{b: b}
	return p.network(d, s)
}

// geoIP2 is the http step that reads the geoip2 blocks and proxies.
func (b *builder) geoIP2(h *HTTP, http *scope) error {
	blocks, err := b.geoIP2Blocks(http)
	if err != nil {
		return err
	}
	h.GeoIP2 = blocks
	return b.geoIP2Proxies(h, http)
}
