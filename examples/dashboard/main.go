// Command dashboard is the Velocity Broadcast live dashboard example: the
// MetricsUpdated event on admin.dashboard every second, with simulated
// business figures and the broadcaster's own live figures, shown with a
// live chart of the last five minutes.
//
//	go run ./examples/dashboard   # http://localhost:8090 (ADDR overrides)
//
// The plugin reads .env and the environment (plugin.LoadConfig). The app
// lives in package dashapp; this file only configures and serves it.
package main

import (
	"log"
	"time"

	"github.com/velocitykode/velocity/examples/dashboard/dashapp"
	"github.com/velocitykode/velocity/examples/internal/serve"
	"github.com/velocitykode/velocity/plugin"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	cfg, err := plugin.LoadConfig()
	if err != nil {
		return err
	}
	app, err := dashapp.New(dashapp.Options{Config: cfg, Backfill: 5 * time.Minute})
	if err != nil {
		return err
	}
	return serve.Run("dashboard", ":8090", app)
}
