// Package middleware provides JWT authentication for Velocity Broadcast,
// built on github.com/golang-jwt/jwt/v5 and written as an Echo middleware.
//
// The core is a [Verifier], which is independent of Echo: it pins the
// accepted signing algorithms, selects the verification key (optionally by
// the token's "kid" header), checks the signature, "exp", "nbf" and the
// optional "iss"/"aud" claims, and maps the claims to an application user.
// The same Verifier can therefore authenticate an Echo route, a WebSocket
// handshake (see [Verifier.TokenFromRequest]) and the "auth" field of a
// subscribe message (see [Verifier.Verify]).
//
// [JWT] and [Config.ToMiddleware] wrap a Verifier as an [echo.MiddlewareFunc].
// On success the user, the raw token and its expiry are stored in the request
// context, so plain net/http handlers further down the chain (for example a
// WebSocket upgrader receiving c.Request()) can read them with
// [UserFromContext], [TokenFromContext] and [ExpiryFromContext]. Echo
// handlers can use [UserFrom] or the typed [UserAs].
//
// Security defaults: only HS256 is accepted unless [Config.SigningMethods]
// says otherwise, "none" can never be enabled, and each algorithm family is
// only ever verified with its own key type (HMAC with []byte, RSA with
// *rsa.PublicKey, ECDSA with an *ecdsa.PublicKey on the matching curve,
// EdDSA with ed25519.PublicKey). This defeats both "alg: none" tokens and
// the classic attack of signing an HS256 token with an RSA public key as
// the HMAC secret. A token without "exp" is refused ([ErrTokenNoExpiry])
// unless [Config.AllowNoExpiry] is set, so that no token is good forever.
//
// Failures are reported with sentinel errors ([ErrTokenMissing],
// [ErrTokenInvalid], [ErrTokenExpired], [ErrTokenNoExpiry], [ErrTokenAlgorithm],
// [ErrUnknownKey])
// usable with errors.Is, and by default answered with a 401 JSON body
// {"error":"<code>","message":"..."} whose code is one of "token_missing",
// "token_invalid", "token_expired" or "token_no_expiry". A token sent where no key is
// configured to verify it ([ErrJWTNotConfigured], see [HasToken]) is
// answered with code "jwt_not_configured" and the message "a token was sent
// but no JWT key is configured (set JWT_SECRET or JWT_PUBLIC_KEY)".
package middleware
