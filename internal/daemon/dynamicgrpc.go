package daemon

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"fulcrum/internal/config"
	"fulcrum/internal/proxy"
	"fulcrum/internal/vars"
)

// dynamicGRPC resolves a grpc_pass with variables per request, as nginx's
// ngx_http_grpc_eval and ngx_http_upstream_init_request: the value is
// [grpc://|grpcs://]ADDRESS (the scheme may come from a variable; none
// means grpc://), ADDRESS an upstream block's name, an IP address and
// port, or, with a resolver, a host name and port. Its targets are found
// as a proxy_pass's (dynamicProxy); each scheme and address has its own
// HTTP/2 client, with the address's host as TLS name for grpcs://.
type dynamicGRPC struct {
	url     *vars.Template
	targets *dynamicProxy
	clients *proxy.GRPCClients
	set     *config.GRPCSettings

	mu sync.Mutex // guards byAddr
	// byAddr are the clients made so far, by scheme and address.
	byAddr map[string]*http.Transport
}

// dynamicGRPC compiles a grpc_pass with variables; set is its location's.
func (b *handlerBuilder) dynamicGRPC(pass *config.GRPCPass, set *config.Settings) (*dynamicGRPC, error) {
	t, err := b.comp.Compile(pass.URL)
	if err != nil {
		return nil, fmt.Errorf("%w in %s", err, pass.Pos)
	}
	d := &dynamicGRPC{url: t, targets: b.newDynamic(t, set, "grpc_pass", proxyTarget(nil, nil)), clients: b.transports.GRPC(), set: &set.GRPC,
		byAddr: map[string]*http.Transport{}}
	for u, bp := range b.pools {
		d.targets.byName[u.Name] = proxy.Target{Pool: bp.pool, Policy: bp.policy, HashKey: bp.hashKey}
	}
	return d, nil
}

// resolve is the proxy.DynamicGRPCTarget of the grpc_pass.
func (d *dynamicGRPC) resolve(st *vars.State) (proxy.GRPCTarget, error) {
	raw := d.url.String(st)
	rest, tls := raw, false
	// nginx takes a scheme only when an address follows it: "grpc://"
	// alone is an address, and an invalid one.
	if r, ok := cutPrefixFold(raw, "grpc://"); ok && r != "" {
		rest = r
	} else if r, ok := cutPrefixFold(raw, "grpcs://"); ok && r != "" {
		rest, tls = r, true
	}
	a, err := parseUpstreamURL(rest, false)
	if err != nil {
		return proxy.GRPCTarget{}, err
	}
	if a.unix {
		// A socket's :authority is "localhost", as grpc_pass unix:'s.
		gt := proxy.GRPCTarget{Host: "localhost", TLS: tls}
		if gt.Target, err = d.targets.addrs.literalTarget("unix", a.host); err != nil {
			return gt, err
		}
		gt.Client = d.client("dynamic "+a.hostport, gt.Host, tls)
		return gt, nil
	}
	gt := proxy.GRPCTarget{Host: a.hostport, TLS: tls}
	if _, ipErr := netip.ParseAddr(strings.Trim(a.host, "[]")); ipErr != nil {
		if t, ok := d.targets.byName[a.hostport]; ok {
			gt.Target, gt.Client = t, d.client(a.hostport, a.hostport, tls)
			return gt, nil
		}
	}
	if a.port == "" {
		return gt, &proxy.InvalidTargetError{Msg: fmt.Sprintf(`no port in upstream "%s"`, a.hostport)}
	}
	if gt.Target, err = d.targets.literalTarget(a.hostport); err != nil {
		return gt, err
	}
	gt.Client = d.client("dynamic "+a.hostport, a.hostport, tls)
	return gt, nil
}

// client returns the HTTP/2 client of the upstream named name reached as
// host, made on first use.
func (d *dynamicGRPC) client(name, host string, tls bool) *http.Transport {
	key := fmt.Sprintf("%t %s %s", tls, name, host)
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.byAddr[key]; c != nil {
		return c
	}
	if len(d.byAddr) >= 2*maxDynamicTargets {
		// A bound on memory: past it, clients are not remembered here
		// (GRPCClients still shares them by key).
		return d.clients.ForAddress(name, host, tls, d.set)
	}
	c := d.clients.ForAddress(name, host, tls, d.set)
	d.byAddr[key] = c
	return c
}
