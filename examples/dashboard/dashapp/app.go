// Package dashapp is the dashboard example as a library, so that main.go
// stays small and the browser tests can run it in-process.
//
// Every Interval it broadcasts the live dashboard update:
// MetricsUpdated on the public channel admin.dashboard with simulated
// business figures (active_users, total_orders, revenue, updated_at) and
// the broadcaster's own live figures; each simulated order is also
// broadcast as OrderPlaced on "orders". The page charts the last minutes.
package dashapp

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/examples/internal/serve"
	"github.com/velocitykode/velocity/plugin"
)

// Channels and events of the dashboard.
const (
	DashboardChannel = "admin.dashboard"
	OrdersChannel    = "orders"
)

// Options configures New.
type Options struct {
	// Config is the plugin configuration (plugin.LoadConfig or FromLookup).
	Config plugin.Config
	// Interval between two MetricsUpdated events (default one second).
	Interval time.Duration
	// History is how many samples GET /api/metrics/history keeps (default
	// 300: five minutes at one per second).
	History int
	// Backfill simulates this much history at start (at most History
	// samples, without broadcaster figures), so the charts start full.
	Backfill time.Duration
	// Seed makes the simulation repeatable (0: random).
	Seed uint64
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// App is the dashboard: broadcaster, plugin, simulation and router.
type App struct {
	opts    Options
	b       *broadcast.Broadcaster
	p       *plugin.Plugin
	e       *echo.Echo
	counter *countingDriver
	sim     *simulation
	sampler *sampler
	history *history

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// New builds the dashboard and starts publishing.
func New(opts Options) (*App, error) {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.History <= 0 {
		opts.History = 300
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &App{opts: opts, b: broadcast.New(nil), stop: make(chan struct{})}
	p, err := plugin.New(opts.Config, plugin.WithBroadcaster(a.b), plugin.WithLogger(opts.Logger))
	if err != nil {
		return nil, err
	}
	a.p = p
	a.counter = countEvents(a.b)
	a.sim = newSimulation(opts.Seed)
	a.sampler = newSampler(p.Server(), a.counter)
	a.sampler.prom = &promSampler{reg: p.MetricsRegistry()}
	a.history = newHistory(opts.History)
	a.e = a.routes()
	a.backfill(time.Now())
	a.wg.Add(1)
	go a.run()
	return a, nil
}

// Handler returns the app's HTTP handler.
func (a *App) Handler() http.Handler { return a.e }

// Shutdown stops publishing and closes every WebSocket with code 4200.
func (a *App) Shutdown(ctx context.Context) error {
	a.once.Do(func() { close(a.stop) })
	a.wg.Wait()
	return a.p.Shutdown(ctx)
}

func (a *App) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Pre(serve.HeadAsGet)
	e.Use(securityHeaders)
	a.p.Register(e)
	if !a.opts.Config.Metrics {
		// The plugin mounts /metrics itself with BROADCAST_METRICS=true.
		e.GET("/metrics", echo.WrapHandler(a.p.MetricsHandler()))
	}
	e.GET("/api/metrics/history", a.metricsHistory)
	page := staticHandler()
	e.GET("/*", page)
	return e
}

// run publishes every Interval until Shutdown.
func (a *App) run() {
	defer a.wg.Done()
	t := time.NewTicker(a.opts.Interval)
	defer t.Stop()
	a.tick(time.Now())
	for {
		select {
		case <-a.stop:
			return
		case now := <-t.C:
			a.tick(now)
		}
	}
}

// tick advances the simulation and broadcasts its orders and the metrics,
// the way a dashboard controller's UpdateMetrics would.
func (a *App) tick(now time.Time) {
	orders := a.sim.step(now, a.opts.Interval)
	for _, o := range orders {
		if err := a.b.Channel(OrdersChannel).Emit("OrderPlaced", o); err != nil {
			a.opts.Logger.Warn("dashboard: OrderPlaced", "err", err)
		}
	}
	m := MetricsUpdated{
		ActiveUsers: a.sim.activeUsers,
		TotalOrders: a.sim.totalOrders,
		Revenue:     a.sim.revenueRounded(),
		UpdatedAt:   now.UTC(),
		Broadcaster: a.sampler.sample(now),
	}
	a.history.add(m)
	// Only the latest metrics matter: a dashboard that fell behind gets
	// the newest sample in the place of a queued one, not a backlog.
	if err := a.b.Channel(DashboardChannel).Conflate("metrics").Emit("MetricsUpdated", m); err != nil {
		a.opts.Logger.Warn("dashboard: MetricsUpdated", "err", err)
	}
}

// backfill fills the history with simulated samples of the past.
func (a *App) backfill(now time.Time) {
	n := min(a.opts.History-1, int(a.opts.Backfill/a.opts.Interval))
	for i := n; i > 0; i-- {
		t := now.Add(-time.Duration(i) * a.opts.Interval)
		a.sim.step(t, a.opts.Interval)
		a.history.add(MetricsUpdated{
			ActiveUsers: a.sim.activeUsers, TotalOrders: a.sim.totalOrders,
			Revenue: a.sim.revenueRounded(), UpdatedAt: t.UTC(),
		})
	}
}

// metricsHistory answers GET /api/metrics/history: the recent samples,
// oldest first, so the page's chart starts full.
func (a *App) metricsHistory(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{
		"interval_ms": a.opts.Interval.Milliseconds(),
		"samples":     a.history.all(),
	})
}

// securityHeaders: scripts and styles from this origin only.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		return next(c)
	}
}
