//go:build linux

package main

import (
	"net"
	"testing"
)

func collect(a Adapter, msg string) []Frame {
	var out []Frame
	a.Decode([]byte(msg), func(f Frame) {
		f.Channel = append([]byte(nil), f.Channel...)
		f.Data = append([]byte(nil), f.Data...)
		out = append(out, f)
	})
	return out
}

func TestNativeDecode(t *testing.T) {
	a := &nativeAdapter{}
	f := collect(a, `{"type":"Bench","channel":"s2","data":{"i":1,"c":0,"p":0,"s":1,"t":5,"x":""}}`)
	if len(f) != 1 || f[0].Kind != FrameEvent || string(f[0].Channel) != "s2" {
		t.Fatalf("%+v", f)
	}
	if m, ok := ParsePayload(f[0].Data); !ok || m.TS != 5 {
		t.Errorf("payload %s", f[0].Data)
	}
	f = collect(a, `{"type":"subscription_succeeded","channel":"u.3","data":{"channel":"u.3"}}`)
	if f[0].Kind != FrameSubOK || string(f[0].Channel) != "u.3" || f[0].Ref != -1 {
		t.Errorf("%+v", f)
	}
	if f = collect(a, `{"type":"connected","data":{"socket_id":"1.2","activity_timeout":30}}`); f[0].Kind != FrameConnected {
		t.Errorf("%+v", f)
	}
}

func TestCentrifugoDecodeSeveralPerMessage(t *testing.T) {
	a := &centrifugoAdapter{ns: "bench"}
	msg := `{"id":1,"connect":{"client":"x","version":"6","ping":25,"pong":true}}` + "\n" +
		`{"id":3,"subscribe":{}}` + "\n" +
		`{"push":{"channel":"bench:s2","pub":{"data":{"i":1,"c":0,"p":0,"s":1,"t":5,"x":""},"offset":1}}}` + "\n" +
		`{}` + "\n" +
		`{"id":2,"error":{"code":103,"message":"permission denied"}}`
	f := collect(a, msg)
	kinds := []FrameKind{FrameConnected, FrameSubOK, FrameEvent, FramePing, FrameError}
	if len(f) != len(kinds) {
		t.Fatalf("%d frames: %+v", len(f), f)
	}
	for i, k := range kinds {
		if f[i].Kind != k {
			t.Errorf("frame %d kind %d, want %d", i, f[i].Kind, k)
		}
	}
	if f[1].Ref != 1 || string(f[2].Channel) != "bench:s2" || string(f[3].Reply) != "{}" || f[4].Ref != 0 {
		t.Errorf("%+v", f)
	}
	if m, ok := ParsePayload(f[2].Data); !ok || m.Seq != 1 {
		t.Errorf("payload %s", f[2].Data)
	}
}

func TestRequireLoopback(t *testing.T) {
	lookup := func(h string) ([]net.IP, error) {
		if h == "localhost" {
			return []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}, nil
		}
		return []net.IP{net.ParseIP("10.0.0.5")}, nil
	}
	for _, ok := range []string{"ws://127.0.0.1:8099/ws", "http://localhost:8000", "http://[::1]:80", "ws://127.0.0.9/x"} {
		if err := requireLoopback(ok, lookup); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"ws://10.1.2.3/ws", "http://example.com", "ws://0.0.0.0:80", "/relative"} {
		if err := requireLoopback(bad, lookup); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestConfigPresetsAndBounds(t *testing.T) {
	c, err := parseFlags([]string{"-scenario", "s3"})
	if err != nil || c.Conns != 15000 || c.Churn != 200 || c.Mode != "ramp" {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := parseFlags([]string{"-conns", "50000"}); err == nil {
		t.Error("50000 connections accepted")
	}
	if _, err := parseFlags([]string{"-src", "192.168.1.2"}); err == nil {
		t.Error("non-loopback source accepted")
	}
	if _, err := parseFlags([]string{"-url", "ws://8.8.8.8/ws"}); err == nil {
		t.Error("remote target accepted")
	}
}

func TestStatParsing(t *testing.T) {
	stat := []byte("1234 (my (odd) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 8 0 100 0 0")
	d, err := parseStatCPU(stat)
	if err != nil || d.Seconds() != 3 {
		t.Errorf("cpu %v %v, want 3s", d, err)
	}
	if rss := parseStatusRSS([]byte("Name:\tx\nVmRSS:\t  2048 kB\n")); rss != 2048*1024 {
		t.Errorf("rss %d", rss)
	}
}

func TestMetricSum(t *testing.T) {
	text := []byte(`# HELP x
centrifugo_client_num_server_disconnects{code="3008",transport="websocket"} 12
centrifugo_client_num_server_disconnects{code="3012",transport="websocket"} 3
centrifugo_client_num_server_disconnects{code="3008",transport="sse"} 1
centrifugo_client_num_server_disconnects_other{code="3008"} 100
`)
	if got := metricSum(text, "centrifugo_client_num_server_disconnects", `code="3008"`); got != 13 {
		t.Errorf("sum %v, want 13", got)
	}
}

func TestPusherDecode(t *testing.T) {
	a := &pusherAdapter{}
	f := collect(a, `{"event":"Bench","channel":"s2","data":"{\"i\":1,\"c\":0,\"p\":0,\"s\":9,\"t\":5,\"x\":\"xx\\/\"}"}`)
	if len(f) != 1 || f[0].Kind != FrameEvent || string(f[0].Channel) != "s2" {
		t.Fatalf("%+v", f)
	}
	if m, ok := ParsePayload(f[0].Data); !ok || m.Seq != 9 || m.TS != 5 {
		t.Errorf("payload %s", f[0].Data)
	}
	cases := map[string]FrameKind{
		`{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":30}"}`: FrameConnected,
		`{"event":"pusher_internal:subscription_succeeded","channel":"u.3","data":"{}"}`:                     FrameSubOK,
		`{"event":"pusher:ping","data":"{}"}`:                                                                FramePing,
		`{"event":"pusher:subscription_error","channel":"x","data":"{\"type\":\"AuthError\"}"}`:              FrameError,
		`{"event":"Bench","channel":"s2","data":"{\"bad\":\"\u0041\"}"}`:                                     FrameOther,
	}
	for msg, kind := range cases {
		if f := collect(a, msg); len(f) != 1 || f[0].Kind != kind {
			t.Errorf("%s: %+v, want kind %d", msg, f, kind)
		}
	}
}
