package routes

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Probe and metrics paths.
const (
	// LivePath answers 200 {"status":"ok"} while the process serves
	// requests (liveness).
	LivePath = "/broadcasting/health/live"
	// ReadyPath answers 200 {"status":"ok"} while the node may take
	// traffic and 503 {"status":"unavailable","reason":...} while it may
	// not: its broker is unreachable, it is not registered with it, or it
	// is shutting down (readiness).
	ReadyPath = "/broadcasting/health/ready"
	// MetricsPath serves Prometheus metrics when Routes.Metrics is set.
	MetricsPath = "/metrics"
)

func (rt Routes) mountProbes(r Router) {
	if rt.Ready != nil {
		r.Add(http.MethodGet, LivePath, live)
		r.Add(http.MethodGet, ReadyPath, rt.ready)
	}
	if rt.Metrics != nil {
		r.Add(http.MethodGet, MetricsPath, echo.WrapHandler(rt.Metrics))
	}
}

func live(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (rt Routes) ready(c echo.Context) error {
	if err := rt.Ready(c.Request().Context()); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}
