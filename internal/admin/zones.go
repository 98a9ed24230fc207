package admin

import (
	"encoding/json"
	"net/http"
	"strconv"

	"fulcrum/internal/statuszone"
)

// ZoneSource is what a Source with status zones (status_zone) offers
// beyond Source; a Source without it has none to show.
type ZoneSource interface {
	// StatusZones returns the zones of the configuration in force.
	StatusZones() Zones
}

// Zones are the status zones of a configuration, in configuration order.
type Zones struct {
	// Servers are the http server zones, Locations the location zones,
	// Streams the stream server zones.
	Servers, Locations []statuszone.Named[statuszone.HTTP]
	Streams            []statuszone.Named[statuszone.Stream]
}

// zoneKind names one of the three zone lists of the API.
type zoneKind int

const (
	serverZones zoneKind = iota
	locationZones
	streamZones
)

// The 404s of an unknown zone, as NGINX Plus names them.
var (
	errServerZoneUnknown   = newError(http.StatusNotFound, "ServerZoneNotFound", "server zone not found")
	errLocationZoneUnknown = newError(http.StatusNotFound, "LocationZoneNotFound", "location zone not found")
)

// statusZones returns the zones of the source, none when it has none.
func (a *API) statusZones() Zones {
	if zs, ok := a.Source.(ZoneSource); ok {
		return zs.StatusZones()
	}
	return Zones{}
}

// zones serves /http/server_zones, /http/location_zones and
// /stream/server_zones, and one zone below them: GET reads, DELETE resets
// (NGINX Plus: "Reset statistics for a particular server zone"; without a
// name, of all of them), answering 204 No Content.
func (a *API) zones(r *http.Request, kind zoneKind, segs []string, read bool, status *int) ([]byte, error) {
	if len(segs) > 1 {
		return nil, errPathNotFound
	}
	if !read && r.Method != http.MethodDelete {
		return nil, errMethodNotSupp
	}
	all := a.statusZones()
	var resetters []func()
	var objects []namedObject
	switch kind {
	case streamZones:
		for _, z := range all.Streams {
			if len(segs) == 0 || segs[0] == z.Name {
				resetters = append(resetters, z.Zone.Reset)
				objects = append(objects, namedObject{z.Name, streamZoneOf(z.Zone.Read())})
			}
		}
	default:
		list := all.Servers
		if kind == locationZones {
			list = all.Locations
		}
		for _, z := range list {
			if len(segs) == 0 || segs[0] == z.Name {
				resetters = append(resetters, z.Zone.Reset)
				objects = append(objects, namedObject{z.Name, httpZoneOf(z.Zone.Read(), kind == serverZones)})
			}
		}
	}
	if len(segs) == 1 && len(objects) == 0 {
		if kind == locationZones {
			return nil, errLocationZoneUnknown
		}
		return nil, errServerZoneUnknown
	}
	if !read {
		for _, reset := range resetters {
			reset()
		}
		*status = http.StatusNoContent
		return nil, nil
	}
	if len(segs) == 1 {
		return json.Marshal(objects[0].obj)
	}
	return objectMap(objects)
}

// namedObject is one entry of a JSON object written in order.
type namedObject struct {
	name string
	obj  any
}

// objectMap writes the objects as one JSON object in their order.
func objectMap(objs []namedObject) ([]byte, error) {
	b := []byte{'{'}
	for i, o := range objs {
		if i > 0 {
			b = append(b, ',')
		}
		name, _ := json.Marshal(o.name)
		v, err := json.Marshal(o.obj)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, name...), ':'), v...)
	}
	return append(b, '}'), nil
}

// httpZoneObject is NGINX Plus's HTTP Server Zone and HTTP Location Zone
// (which has no processing).
type httpZoneObject struct {
	Processing *int64          `json:"processing,omitempty"`
	Requests   uint64          `json:"requests"`
	Responses  responsesObject `json:"responses"`
	Discarded  uint64          `json:"discarded"`
	Received   uint64          `json:"received"`
	Sent       uint64          `json:"sent"`
}

func httpZoneOf(c statuszone.HTTPCounts, server bool) httpZoneObject {
	o := httpZoneObject{Requests: c.Requests, Discarded: c.Discarded, Received: c.Received, Sent: c.Sent,
		Responses: zoneResponses(c.Responses)}
	if server {
		p := c.Processing
		o.Processing = &p
	}
	return o
}

func zoneResponses(r statuszone.ResponseCounts) responsesObject {
	o := responsesObject{C1xx: int64(r.Classes[0]), C2xx: int64(r.Classes[1]), C3xx: int64(r.Classes[2]),
		C4xx: int64(r.Classes[3]), C5xx: int64(r.Classes[4]), Total: int64(r.Total), Codes: map[string]int64{}}
	for _, c := range r.Codes {
		o.Codes[strconv.Itoa(c.Code)] = int64(c.Count)
	}
	return o
}

// streamZoneObject is NGINX Plus's Stream Server Zone.
type streamZoneObject struct {
	Processing  int64  `json:"processing"`
	Connections uint64 `json:"connections"`
	Sessions    struct {
		C2xx  uint64 `json:"2xx"`
		C4xx  uint64 `json:"4xx"`
		C5xx  uint64 `json:"5xx"`
		Total uint64 `json:"total"`
	} `json:"sessions"`
	Discarded uint64 `json:"discarded"`
	Received  uint64 `json:"received"`
	Sent      uint64 `json:"sent"`
}

func streamZoneOf(c statuszone.StreamCounts) streamZoneObject {
	o := streamZoneObject{Processing: c.Processing, Connections: c.Connections, Discarded: c.Discarded,
		Received: c.Received, Sent: c.Sent}
	o.Sessions.C2xx, o.Sessions.C4xx, o.Sessions.C5xx, o.Sessions.Total = c.Sessions2xx, c.Sessions4xx, c.Sessions5xx, c.Total
	return o
}

// zonePaths are the zone lists by their path below the version.
var zonePaths = map[string]zoneKind{
	"http/server_zones":   serverZones,
	"http/location_zones": locationZones,
	"stream/server_zones": streamZones,
}

// AppendZoneMetrics appends the status zones' metrics to b, each family
// only when some zone has it: fulcrum_server_zone_* (label zone),
// fulcrum_location_zone_* and fulcrum_stream_server_zone_*.
func AppendZoneMetrics(b []byte, z Zones) []byte {
	b = appendHTTPZones(b, "fulcrum_server_zone", z.Servers, true)
	b = appendHTTPZones(b, "fulcrum_location_zone", z.Locations, false)
	if len(z.Streams) == 0 {
		return b
	}
	counts := make([]statuszone.StreamCounts, len(z.Streams))
	labels := make([]string, len(z.Streams))
	for i, n := range z.Streams {
		counts[i], labels[i] = n.Zone.Read(), `zone="`+escape(n.Name)+`"`
	}
	const p = "fulcrum_stream_server_zone"
	for _, f := range []struct {
		name, typ, help string
		v               func(c *statuszone.StreamCounts) int64
	}{
		{p + "_processing", "gauge", "Client connections being processed.", func(c *statuszone.StreamCounts) int64 { return c.Processing }},
		{p + "_connections_total", "counter", "Client connections accepted.", func(c *statuszone.StreamCounts) int64 { return int64(c.Connections) }},
		{p + "_discarded_total", "counter", "Connections completed without creating a session.", func(c *statuszone.StreamCounts) int64 { return int64(c.Discarded) }},
		{p + "_received_bytes_total", "counter", "Bytes received from clients.", func(c *statuszone.StreamCounts) int64 { return int64(c.Received) }},
		{p + "_sent_bytes_total", "counter", "Bytes sent to clients.", func(c *statuszone.StreamCounts) int64 { return int64(c.Sent) }},
	} {
		b = header(b, f.name, f.typ, f.help)
		for i := range counts {
			b = sample(b, f.name, labels[i], f.v(&counts[i]))
		}
	}
	const sess = p + "_sessions_total"
	b = header(b, sess, "counter", "Completed sessions, by status class.")
	for i, c := range counts {
		for _, s := range []struct {
			class string
			n     uint64
		}{{"2xx", c.Sessions2xx}, {"4xx", c.Sessions4xx}, {"5xx", c.Sessions5xx}} {
			b = sample(b, sess, labels[i]+`,code="`+s.class+`"`, int64(s.n))
		}
	}
	return b
}

// appendHTTPZones appends the metrics of http server zones (server: with
// processing) or location zones, named prefix_*.
func appendHTTPZones(b []byte, prefix string, zones []statuszone.Named[statuszone.HTTP], server bool) []byte {
	if len(zones) == 0 {
		return b
	}
	counts := make([]statuszone.HTTPCounts, len(zones))
	labels := make([]string, len(zones))
	for i, n := range zones {
		counts[i], labels[i] = n.Zone.Read(), `zone="`+escape(n.Name)+`"`
	}
	type fam struct {
		name, typ, help string
		v               func(c *statuszone.HTTPCounts) int64
	}
	fams := []fam{
		{prefix + "_requests_total", "counter", "Client requests received.", func(c *statuszone.HTTPCounts) int64 { return int64(c.Requests) }},
		{prefix + "_discarded_total", "counter", "Requests completed without sending a response.", func(c *statuszone.HTTPCounts) int64 { return int64(c.Discarded) }},
		{prefix + "_received_bytes_total", "counter", "Bytes received from clients.", func(c *statuszone.HTTPCounts) int64 { return int64(c.Received) }},
		{prefix + "_sent_bytes_total", "counter", "Bytes sent to clients.", func(c *statuszone.HTTPCounts) int64 { return int64(c.Sent) }},
	}
	if server {
		fams = append([]fam{{prefix + "_processing", "gauge", "Client requests being processed.", func(c *statuszone.HTTPCounts) int64 { return c.Processing }}}, fams...)
	}
	for _, f := range fams {
		b = header(b, f.name, f.typ, f.help)
		for i := range counts {
			b = sample(b, f.name, labels[i], f.v(&counts[i]))
		}
	}
	resp := prefix + "_responses_total"
	b = header(b, resp, "counter", "Responses sent to clients, by status class.")
	for i, c := range counts {
		for j, n := range c.Responses.Classes {
			b = sample(b, resp, labels[i]+`,code="`+strconv.Itoa(j+1)+`xx"`, int64(n))
		}
	}
	byCode := prefix + "_responses_by_code_total"
	b = header(b, byCode, "counter", "Responses sent to clients, by status code (the codes sent).")
	for i, c := range counts {
		for _, cc := range c.Responses.Codes {
			b = sample(b, byCode, labels[i]+`,code="`+strconv.Itoa(cc.Code)+`"`, int64(cc.Count))
		}
	}
	return b
}
