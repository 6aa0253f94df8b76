// Package routes holds the HTTP endpoints the plugin mounts on an Echo
// app: the WebSocket upgrades of the native protocol and of the Pusher
// protocol ({prefix}/app/:key), POST /broadcasting/auth, which signs
// private and presence subscriptions for the request's user with the app
// secret (Pusher's rules), POST /broadcasting/user-auth for pusher-js
// sign-in, and the signed Pusher HTTP API ({prefix}/apps/:id/…) that
// Pusher server SDKs and Laravel's pusher broadcaster publish through.
// Routes.Mount registers them on an *echo.Echo or an *echo.Group (any
// Router).
package routes
