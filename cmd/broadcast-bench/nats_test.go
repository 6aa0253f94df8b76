//go:build linux

package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestNATSVarzPerPublish(t *testing.T) {
	varz := `{"in_msgs":100,"out_msgs":250}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/varz" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(varz))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	before, err := natsVarz(srv.Client(), addr, os.Getpid())
	if err != nil || before["in"] != 100 || before["out"] != 250 {
		t.Fatalf("natsVarz = %v, %v", before, err)
	}
	if _, ok := before["cpu"]; !ok {
		t.Errorf("no cpu for pid %d: %v", os.Getpid(), before)
	}
	varz = `{"in_msgs":120,"out_msgs":290}`
	after, err := natsVarz(srv.Client(), addr, 0)
	if err != nil {
		t.Fatal(err)
	}
	after["cpu"] = before["cpu"] + 0.5
	res := &Result{}
	natsPerPublish(res, before, after, 10)
	if res.NATSInPerPub != 2 || res.NATSOutPerPub != 4 || res.NATSCPUs != 0.5 {
		t.Errorf("%+v", res)
	}
	if _, err := natsVarz(srv.Client(), addr+"/nope", 0); err == nil {
		t.Error("a bad address answered")
	}
}

func TestServerPIDs(t *testing.T) {
	c, err := parseFlags([]string{"-server-pid", "12, 34"})
	if err != nil || !slices.Equal(c.PIDs, []int{12, 34}) {
		t.Fatalf("parseFlags = %v, %v", c, err)
	}
	if _, err := parseFlags([]string{"-server-pid", "12,x"}); err == nil {
		t.Error("-server-pid 12,x accepted")
	}
	self := readProc(os.Getpid())
	both := readProcs([]int{os.Getpid(), os.Getpid()})
	if !both.OK || both.RSS < self.RSS || both.CPU < self.CPU {
		t.Errorf("readProcs = %+v, one sample %+v", both, self)
	}
	if readProcs([]int{os.Getpid(), 1 << 30}).OK || readProcs(nil).OK {
		t.Error("a missing process summed as OK")
	}
}
