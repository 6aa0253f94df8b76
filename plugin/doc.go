// Package plugin wires Velocity Broadcast into an Echo app: it reads the
// configuration (.env and environment), builds the driver and the
// broadcaster, mounts the HTTP endpoints and shuts everything down.
//
//	cfg, err := plugin.LoadConfig()          // .env + environment
//	p, err := plugin.New(cfg)                // driver + broadcast.Default()
//	p.Register(e)                            // GET /ws, POST /broadcasting/auth
//	defer p.Shutdown(ctx)                    // close 4200, stop goroutines
//
// After New, the package-level helpers of broadcast (broadcast.Channel,
// broadcast.SetAuthorizer, ...) act on the plugin's broadcaster.
package plugin
