package browser

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/velocitykode/velocity/examples/dashboard/dashapp"
)

// chartPixels counts the canvas pixels of a chart drawn in a series'
// colour (r, g, b), i.e. that the line was really painted.
func chartPixels(id string, r, g, b int) string {
	return `(() => {
	  const c = document.querySelector('#` + id + ` canvas');
	  if (!c || !c.width) return 0;
	  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
	  let n = 0;
	  for (let i = 0; i < px.length; i += 4) {
	    if (Math.abs(px[i] - ` + strconv.Itoa(r) + `) < 40 && Math.abs(px[i + 1] - ` + strconv.Itoa(g) + `) < 40 && Math.abs(px[i + 2] - ` + strconv.Itoa(b) + `) < 40 && px[i + 3] > 200) n++;
	  }
	  return n;
	})()`
}

func TestDashboard(t *testing.T) {
	cfg := testConfig(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := startServer(t, func() app {
		a, err := dashapp.New(dashapp.Options{Config: cfg, Backfill: 5 * time.Minute, Seed: 7, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		return a
	})
	browser := newBrowser(t)
	p := newPage(t, browser, "dashboard")
	p.do("open the dashboard", chromedp.Navigate(srv.URL()+"/"))
	p.waitFor("connected", `document.getElementById('status').dataset.state === 'connected'`)
	p.waitFor("first figures", `document.getElementById('total-orders').textContent !== '—'`)

	t.Log("the figures change over time")
	before := eval[string](p, `document.getElementById('updated-at').textContent + '|' + document.getElementById('total-orders').textContent + '|' + window.dashboard.series.t.length`)
	p.waitFor("a newer update", `document.getElementById('updated-at').textContent + '|' + document.getElementById('total-orders').textContent + '|' + window.dashboard.series.t.length !== `+js(before))
	p.waitFor("the page's own connection counted", `Number(document.getElementById('fig-connections').textContent) >= 1`)
	p.waitFor("deliveries per second", `parseFloat(document.getElementById('fig-deliveries').textContent) > 0`)
	p.waitFor("open connections from the Prometheus registry", `Number(document.getElementById('prom-connections').textContent) >= 1`)
	p.waitFor("deliveries per second from the Prometheus registry", `parseFloat(document.getElementById('prom-deliveries').textContent) > 0`)
	p.waitFor("a publish-to-enqueue p99", `/^\d+\.\d{3} ms$/.test(document.getElementById('prom-p99').textContent)`)
	p.waitFor("an OrderPlaced in the feed", `document.querySelectorAll('#orders li').length > 0`)

	t.Log("the charts draw points")
	last := `window.dashboard.charts.business.data[0].at(-1)`
	p.waitFor("the backfilled history and live points", `window.dashboard.charts.business.data[0].length >= 200`)
	// The throughput chart starts full: the same five minutes, not an
	// empty chart with millisecond ticks.
	span := `((c) => c.data[0].at(-1) - c.data[0][0])(window.dashboard.charts.%s)`
	if b, tp := eval[float64](p, fmt.Sprintf(span, "business")), eval[float64](p, fmt.Sprintf(span, "throughput")); b < 200 || tp < b-1 {
		t.Fatalf("the business chart spans %.0f s, the throughput chart %.0f s: want the same window", b, tp)
	}
	t0 := eval[float64](p, last)
	p.waitFor("a live point added to the chart", last+` > `+strconv.FormatFloat(t0, 'f', -1, 64))
	p.waitFor("live throughput points", `window.dashboard.charts.throughput.data[2].filter((v) => v > 0).length >= 2`)
	p.waitFor("the users line painted", chartPixels("business-chart", 0x4f, 0x46, 0xe5)+` > 200`)
	p.waitFor("the deliveries line painted", chartPixels("throughput-chart", 0x16, 0xa3, 0x4a)+` > 5`)
	p.screenshot("dashboard")

	if ex := p.exceptions(); len(ex) > 0 {
		t.Errorf("uncaught exceptions: %v", ex)
	}
}
