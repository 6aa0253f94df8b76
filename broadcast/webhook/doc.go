// Package webhook sends Pusher-compatible webhooks: signed, batched JSON
// POSTs that tell an application's server about channel and presence
// activity, so receivers written for Pusher Channels (for example with
// the pusher SDK's webhook helper) work unchanged.
//
// A request body is
//
//	{"time_ms":1700000000000,"events":[{"name":"channel_occupied","channel":"orders"}]}
//
// with the headers Content-Type: application/json, X-Pusher-Key (the app
// key) and X-Pusher-Signature (lowercase hexadecimal HMAC-SHA256 of the
// exact body bytes, keyed with the app secret; see Sign and Verify).
//
// A Sender gives every endpoint its own bounded queue and goroutine.
// Send never blocks. Events are batched for Config.BatchWindow, at most
// Config.MaxBatch per request and Config.MaxBodyBytes per body. Network
// errors, timeouts, 5xx, 408 and 429 are retried with exponential backoff
// and jitter, up to Config.MaxAttempts and Config.MaxAge; other answers
// are not. Delivery is at least once per endpoint within those limits;
// what is dropped (full queue: oldest first; retries exhausted; Close) is
// counted in Stats and logged at most once per Config.LogInterval.
//
// Endpoints can come from a spec string (ParseSpec), as the plugin reads
// BROADCAST_WEBHOOKS:
//
//	https://a.example/hook,https://b.example/hook|channel_occupied+channel_vacated
//
// Commas separate endpoints; "|" starts an endpoint's filter of event
// names joined by "+"; no filter means every event.
package webhook
