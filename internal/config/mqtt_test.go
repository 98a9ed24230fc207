package config

import (
	"strings"
	"testing"
)

// TestMQTTErrors checks the messages for bad mqtt_* directives (NGINX
// Plus's ngx_stream_mqtt_preread_module and ngx_stream_mqtt_filter_module;
// nginx 1.22 does not know them).
func TestMQTTErrors(t *testing.T) {
	const srv = "stream { server { listen 1883; proxy_pass 127.0.0.1:1884; "
	tests := []struct{ name, src, want string }{
		{"unknown field", srv + "mqtt_set_connect will_topic x; } }", `unknown field "will_topic" in "mqtt_set_connect" directive in nginx.conf:1, the fields are clientid, username and password`},
		{"field twice", srv + "mqtt_set_connect username a;\nmqtt_set_connect username b; } }", `duplicate field "username" in "mqtt_set_connect" directive in nginx.conf:2, keep one of the two; the first is at `},
		{"set_connect in stream", "stream { mqtt_set_connect username a; }", `"mqtt_set_connect" directive is not allowed here in nginx.conf:1`},
		{"rewrite buffer in stream", "stream { mqtt_rewrite_buffer_size 4k; }", `"mqtt_rewrite_buffer_size" directive is not allowed here in nginx.conf:1`},
		{"set_connect arguments", srv + "mqtt_set_connect username; } }", `invalid number of arguments in "mqtt_set_connect" directive in nginx.conf:1`},
		{"no buffers", srv + "mqtt_buffers 0 1k; } }", `invalid value "0" in "mqtt_buffers" directive in nginx.conf:1`},
		{"buffers size", srv + "mqtt_buffers 10 big; } }", `"mqtt_buffers" directive invalid value`},
		{"mqtt flag", srv + "mqtt yes; } }", `invalid value "yes" in "mqtt" directive, it must be "on" or "off" in nginx.conf:1`},
		{"mqtt_preread in http", "http { mqtt_preread on; }", `"mqtt_preread" directive is not allowed here in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestMQTTSettings checks the defaults and what the directives set, with
// mqtt_preread, mqtt and mqtt_buffers inherited from the stream block.
func TestMQTTSettings(t *testing.T) {
	cfg, err := loadText(t, `stream {
    mqtt_preread on; mqtt on; mqtt_buffers 10 512;
    server { listen 1883; proxy_pass 127.0.0.1:1884; mqtt_rewrite_buffer_size 2k;
             mqtt_set_connect clientid "id-$mqtt_preread_clientid"; mqtt_set_connect password $remote_addr; }
    server { listen 1884; proxy_pass 127.0.0.1:1885; mqtt_preread off; }
    }`)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Preread, MQTT                bool
		Buffers, Size, Rewrite, Sets int
	}
	for i, want := range []got{{true, true, 10, 512, 2048, 2}, {false, true, 10, 512, 0, 0}} {
		s := cfg.Stream.Servers[i]
		g := got{s.MQTTPreread, s.MQTT, s.MQTTBuffers, s.MQTTBufferSize, s.MQTTRewriteBufferSize, len(s.MQTTSetConnect)}
		if g != want {
			t.Errorf("server %d: %+v, want %+v", i, g, want)
		}
	}
	sets := cfg.Stream.Servers[0].MQTTSetConnect
	if sets[0].Field != "clientid" || sets[0].Value != "id-$mqtt_preread_clientid" || sets[1].Field != "password" || sets[1].Value != "$remote_addr" {
		t.Errorf("mqtt_set_connect: %+v", sets)
	}
	plain, err := loadText(t, "stream { server { listen 1885; proxy_pass 127.0.0.1:1886; } }")
	if err != nil {
		t.Fatal(err)
	}
	s := plain.Stream.Servers[0]
	if g := (got{s.MQTTPreread, s.MQTT, s.MQTTBuffers, s.MQTTBufferSize, s.MQTTRewriteBufferSize, len(s.MQTTSetConnect)}); g != (got{false, false, 100, 1024, 0, 0}) {
		t.Errorf("defaults: %+v", g)
	}
}

// TestMQTTSetConnectWithoutFilter warns about mqtt_set_connect in a
// server where mqtt is off: the packet would reach the broker unchanged.
func TestMQTTSetConnectWithoutFilter(t *testing.T) {
	cfg, err := loadText(t, "stream { server { listen 1883; proxy_pass 127.0.0.1:1884;\nmqtt_set_connect username u; } }")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 1 || cfg.Warnings[0].Msg != `"mqtt_set_connect" does nothing without "mqtt on"` || cfg.Warnings[0].Pos.Line != 2 {
		t.Fatalf("warnings %+v, want the one about mqtt off", cfg.Warnings)
	}
	if cfg, _ = loadText(t, "stream { mqtt on; server { listen 1883; proxy_pass 127.0.0.1:1884; mqtt_set_connect username u; } }"); len(cfg.Warnings) != 0 {
		t.Errorf("warnings with mqtt on: %+v", cfg.Warnings)
	}
}
