package plugin_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// familyRe matches a velocity_ family name; histogram series suffixes
// are stripped before comparing.
var familyRe = regexp.MustCompile(`velocity_[a-z_]+`)

func baseFamily(name string) string {
	for _, suf := range []string{"_bucket", "_count", "_sum"} {
		if strings.HasSuffix(name, "_seconds"+suf) {
			return strings.TrimSuffix(name, suf)
		}
	}
	return name
}

// docs/metrics.md documents every family a Redis-driver node with webhooks
// exports,
// and it and the Grafana dashboard name no family that does not exist.
func TestMetricsDocsMatchTheScrape(t *testing.T) {
	t.Parallel()
	env := redisEnv(t)
	env["BROADCAST_METRICS"] = "true"
	env["BROADCAST_WEBHOOKS"] = "http://127.0.0.1:9/hook" // exports the webhook families; nothing is sent
	s := newStack(t, env)
	exported := map[string]bool{}
	for name := range families(t, s.srv.URL+"/metrics") {
		if strings.HasPrefix(name, "velocity_") {
			exported[name] = true
		}
	}
	for _, file := range []string{"../docs/metrics.md", "../docs/grafana-dashboard.json"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		named := map[string]bool{}
		for _, n := range familyRe.FindAllString(string(b), -1) {
			named[baseFamily(n)] = true
		}
		for n := range named {
			if !exported[n] {
				t.Errorf("%s names %s, which is not exported", file, n)
			}
		}
		if strings.HasSuffix(file, ".md") {
			for n := range exported {
				if !named[n] {
					t.Errorf("%s does not document %s", file, n)
				}
			}
		}
	}
}
