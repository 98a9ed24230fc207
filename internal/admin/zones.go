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

var errZoneUnknown = newError(http.StatusNotFound, "StatusZoneNotFound", "status zone not found")

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
		return nil, errZoneUnknown
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
