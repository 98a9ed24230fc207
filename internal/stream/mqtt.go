package stream

import (
	"strconv"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/mqtt"
)

// mqtt_preread and the mqtt filter (NGINX Plus's
// ngx_stream_mqtt_preread_module and ngx_stream_mqtt_filter_module): the
// client's CONNECT packet is read in the preread phase, alongside
// ssl_preread and within the same preread_buffer_size and
// preread_timeout, for $mqtt_preread_clientid and $mqtt_preread_username;
// with mqtt on, it goes to the upstream server rewritten by
// mqtt_set_connect, and what follows it passes unchanged.

// mqttSet is one mqtt_set_connect compiled.
type mqttSet struct {
	field mqtt.Field
	value *template
}

// compileMQTTSets compiles the server's mqtt_set_connect values.
func compileMQTTSets(c *compiler, sc *config.StreamServer) ([]mqttSet, error) {
	var out []mqttSet
	for _, d := range sc.MQTTSetConnect {
		f, _ := mqtt.ParseField(d.Field) // config checked the name
		v, err := c.compile(d.Value)
		if err != nil {
			return nil, at(err, d.Pos)
		}
		out = append(out, mqttSet{field: f, value: v})
	}
	return out, nil
}

// mqttPrereads says the session reads a CONNECT packet in its preread
// phase: mqtt_preread or mqtt is on.
func (s *session) mqttPrereads() bool {
	return s.srv.cfg.MQTTPreread || s.srv.cfg.MQTT
}

// feedMQTT looks at the preread bytes buf (whose capacity is
// preread_buffer_size) for a CONNECT packet; more says read on. ok false
// ends the session (logged, $status 400): the packet is larger than the
// preread buffer, or with mqtt on larger than mqtt_buffers or not a valid
// CONNECT packet. Without mqtt, bytes that are not one leave the
// variables not found and are proxied as they came, as ssl_preread's.
func (s *session) feedMQTT(buf []byte) (more, ok bool) {
	cfg := s.srv.cfg
	v, total, c := mqtt.Scan(buf)
	if v == mqtt.Declined {
		if cfg.MQTT {
			s.logPlain(errlog.Error, "client sent invalid MQTT CONNECT message while prereading client data"+s.peers())
			s.status = statusBadRequest
			return false, false
		}
		return false, true
	}
	if limit := cfg.MQTTBuffers * cfg.MQTTBufferSize; cfg.MQTT && total > limit {
		s.logPlain(errlog.Error, "client sent too large MQTT CONNECT message ("+strconv.Itoa(total)+
			" bytes, mqtt_buffers hold "+strconv.Itoa(limit)+") while prereading client data"+s.peers())
		s.status = statusBadRequest
		return false, false
	}
	if total > cap(buf) {
		s.logPlain(errlog.Error, "preread buffer full while prereading client data"+s.peers())
		s.status = statusBadRequest
		return false, false
	}
	if v == mqtt.More {
		return true, true
	}
	s.mqtt, s.mqttLen = c, total
	return false, true
}

// rewriteConnect gives the bytes that go to the upstream server first
// with mqtt on: the CONNECT packet with mqtt_set_connect's fields set,
// then the rest of what was preread. false ends the session (logged,
// $status 500): the rewritten packet is larger than
// mqtt_rewrite_buffer_size (or mqtt_buffers without it), or is no valid
// CONNECT packet (a value that is not a UTF-8 string).
func (s *session) rewriteConnect() ([]byte, bool) {
	sets := s.srv.mqttSets
	if s.mqtt == nil || len(sets) == 0 {
		return s.pending, true
	}
	c := *s.mqtt
	for _, st := range sets {
		c.Set(st.field, st.value.appendValue(nil, s))
	}
	cfg := s.srv.cfg
	limit := cfg.MQTTRewriteBufferSize
	if limit == 0 {
		limit = cfg.MQTTBuffers * cfg.MQTTBufferSize
	}
	out, err := c.Append(make([]byte, 0, len(s.pending)+64))
	if err == nil && len(out) > limit {
		s.log(errlog.Error, "rewritten MQTT CONNECT message of "+strconv.Itoa(len(out))+" bytes is larger than the rewrite buffer ("+
			strconv.Itoa(limit)+" bytes) while proxying connection")
		return nil, false
	}
	if err == nil {
		_, err = mqtt.Parse(out)
	}
	if err != nil {
		s.log(errlog.Error, "MQTT CONNECT message not rewritten ("+err.Error()+") while proxying connection")
		return nil, false
	}
	return append(out, s.pending[s.mqttLen:]...), true
}

// mqttValue makes the getter of an $mqtt_preread_* variable: not found
// unless mqtt_preread is on and read a CONNECT packet; else the field,
// empty when the packet has none.
func mqttValue(field func(c *mqtt.Connect) []byte) getter {
	return func(d []byte, s *session) ([]byte, bool) {
		if s.mqtt == nil || !s.srv.cfg.MQTTPreread {
			return d, false
		}
		return append(d, field(s.mqtt)...), true
	}
}
