// Package routes holds the HTTP endpoints the plugin mounts on an Echo
// app: the WebSocket upgrade of the native protocol and
// POST /broadcasting/auth, which signs private and presence subscriptions
// for the request's user with the app secret (Pusher's rules).
package routes
