//go:build linux

package main

import (
	"encoding/json"
	"testing"
)

func TestStreamAdapterDecode(t *testing.T) {
	a := &streamAdapter{}
	var got []Frame
	keep := func(f Frame) { f.Epoch = append([]byte(nil), f.Epoch...); got = append(got, f) }
	a.Decode([]byte(`{"type":"subscription_succeeded","channel":"s5","data":{"channel":"s5","offset":41,"epoch":"ab1","recovered":true}}`), keep)
	a.Decode([]byte(`{"type":"Bench","channel":"s5","data":{"i":1,"c":0,"p":0,"s":1,"t":5,"x":"xx"},"offset":42,"epoch":"ab1"}`), keep)
	a.Decode([]byte(`{"type":"subscription_succeeded","channel":"s2","data":{"channel":"s2"}}`), keep)
	if len(got) != 3 {
		t.Fatalf("%d frames", len(got))
	}
	if f := got[0]; f.Kind != FrameSubOK || f.Offset != 41 || string(f.Epoch) != "ab1" || f.Recovered != 2 {
		t.Errorf("ack: %+v", f)
	}
	if f := got[1]; f.Kind != FrameEvent || f.Offset != 42 {
		t.Errorf("event: %+v", f)
	}
	if f := got[2]; f.Epoch != nil || f.Recovered != 0 || f.Offset != 0 {
		t.Errorf("ack without history: %+v", f)
	}
}

func TestSubscribeSince(t *testing.T) {
	var v struct {
		Type string
		Data struct {
			Channel string
			Since   struct {
				Offset uint64
				Epoch  string
			}
		}
	}
	if err := json.Unmarshal(subscribeSince("s5", 7, "e1"), &v); err != nil {
		t.Fatal(err)
	}
	if v.Type != "subscribe" || v.Data.Channel != "s5" || v.Data.Since.Offset != 7 || v.Data.Since.Epoch != "e1" {
		t.Errorf("%+v", v)
	}
}

func TestPositioned(t *testing.T) {
	c := &client{pos: &posState{since: true, from: 10, last: 10, target: 13}}
	for _, off := range []uint64{11, 12, 12, 13, 15} {
		c.positioned(off, int64(off))
	}
	p := c.pos
	if p.replayed != 3 || p.live != 1 || p.dups != 1 || p.gaps != 1 || p.doneAt != 13 {
		t.Errorf("%+v", *p)
	}
}

func TestParseRedisInfo(t *testing.T) {
	m := parseRedisInfo([]byte("# Commandstats\r\ncmdstat_evalsha:calls=12,usec=3,usec_per_call=0.25,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_publish:calls=3,usec=1\r\n# CPU\r\nused_cpu_sys:1.5\r\nused_cpu_user:0.25\r\n"))
	if m["evalsha"] != 12 || m["publish"] != 3 || m["cpu"] != 1.75 {
		t.Errorf("%v", m)
	}
	res := &Result{}
	redisPerPublish(res, map[string]float64{"evalsha": 2, "cpu": 1}, m, 10)
	if res.RedisScripts != 1 || res.RedisPerPub["publish"] != 0.3 || res.RedisCPUs != 0.75 {
		t.Errorf("%+v", res)
	}
}
