// Package signature implements the HMAC-SHA256 signing rules shared by the
// Pusher Channels protocol, the native protocol's "key:signature" auth form
// and the /broadcasting/auth endpoint.
//
// Three families of signatures are covered, all computed with the app secret
// as the HMAC-SHA256 key and rendered as lowercase hexadecimal:
//
//   - Channel authorization (pusher:subscribe on private-, private-encrypted-
//     and presence- channels). The string to sign is "socket_id:channel" or,
//     when channel data is present (presence channels),
//     "socket_id:channel:channel_data". See [ChannelAuth] and
//     [VerifyChannelAuth].
//   - User authentication (pusher:signin). The string to sign is
//     "socket_id::user::user_data". See [UserAuth] and [VerifyUserAuth].
//   - HTTP API request signing, auth_version 1.0. The string to sign is
//     "METHOD\nPATH\nCANONICAL_QUERY" where the canonical query holds every
//     parameter except auth_signature, keys lowercased and sorted, values
//     not URL-encoded. See [SignRequest] and [VerifyRequest].
//
// Channel and user tokens have the form "app_key:hex_signature". Verification
// checks both the key and the signature and always compares signatures in
// constant time.
//
// Channel data and user data are signed byte-for-byte as received: callers
// must pass the exact JSON string the client sent and never a re-marshalled
// copy, because JSON encoders differ in key order and escaping.
//
// The signing functions sign their inputs as given. Callers (typically the
// auth endpoint) must first validate the socket ID with [ValidSocketID] and
// the channel name (which never contains ':'), as the Pusher SDKs do; this
// keeps the strings to sign of the different token kinds from colliding. The
// Verify functions additionally refuse socket IDs and channel names
// containing ':'.
//
// All verification failures wrap one of the package's sentinel errors, so
// callers can map them with [errors.Is].
package signature
