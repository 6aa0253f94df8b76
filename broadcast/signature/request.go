package signature

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AuthVersion is the only HTTP API signing scheme version supported.
const AuthVersion = "1.0"

// DefaultTimestampWindow is how far auth_timestamp may lie in the past or
// future of the server clock when VerifyRequest is given a zero window. It
// matches the ±600 s enforced by Pusher.
const DefaultTimestampWindow = 600 * time.Second

// Names of the query parameters used by HTTP API request signing.
const (
	paramKey       = "auth_key"
	paramTimestamp = "auth_timestamp"
	paramVersion   = "auth_version"
	paramBodyMD5   = "body_md5"
	paramSignature = "auth_signature"
)

// md5Hex returns the lowercase hexadecimal MD5 digest of body.
func md5Hex(body []byte) string {
	sum := md5.Sum(body)
	return hex.EncodeToString(sum[:])
}

// requestMessage returns the string to sign for an HTTP API request:
// "METHOD\nPATH\nCANONICAL_QUERY". params must already have lowercase keys;
// auth_signature is skipped. Values are used verbatim (not URL-encoded).
func requestMessage(method, path string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != paramSignature {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)

	var b strings.Builder
	b.WriteString(strings.ToUpper(method))
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	return b.String()
}

// SignRequest signs an HTTP API request and returns the query to send: a copy
// of query (which is not modified) plus auth_key, auth_timestamp (now in unix
// seconds), auth_version "1.0", body_md5 (lowercase hex MD5 of body, only when
// body is non-empty) and auth_signature.
//
// method is the HTTP method, path the request path without host or query
// (for example "/apps/3/events"); when the API is mounted under a prefix,
// sign the path without the prefix. Keys of the returned query are lowercased
// and every key carries exactly one value: several values for one key (also
// keys differing only in case) are joined with ",", as the Pusher SDKs do for
// array parameters. Any auth_signature or body_md5 already in query is
// replaced or dropped. Encode the result with url.Values.Encode.
func SignRequest(app App, method, path string, query url.Values, body []byte, now time.Time) url.Values {
	params := make(map[string]string, len(query)+5)
	origKeys := make([]string, 0, len(query))
	for k, vs := range query {
		if len(vs) > 0 {
			origKeys = append(origKeys, k)
		}
	}
	sort.Strings(origKeys) // deterministic merge order for case variants
	for _, k := range origKeys {
		lk := strings.ToLower(k)
		v := strings.Join(query[k], ",")
		if prev, ok := params[lk]; ok {
			v = prev + "," + v
		}
		params[lk] = v
	}

	delete(params, paramSignature)
	delete(params, paramBodyMD5)
	params[paramKey] = app.Key
	params[paramTimestamp] = strconv.FormatInt(now.Unix(), 10)
	params[paramVersion] = AuthVersion
	if len(body) > 0 {
		params[paramBodyMD5] = md5Hex(body)
	}
	params[paramSignature] = Sign(app.Secret, requestMessage(method, path, params))

	out := make(url.Values, len(params))
	for k, v := range params {
		out[k] = []string{v}
	}
	return out
}

// VerifyRequest checks the signature of an HTTP API request (auth_version
// 1.0). query must be the URL-decoded query of the request (for example
// r.URL.Query()), path the request path without any mount prefix, body the
// raw request body and now the server's current time.
//
// Checks, in order, each failure wrapping the sentinel named:
//   - every parameter appears once, also after lowercasing names
//     (ErrMalformedParam);
//   - auth_key is present (ErrMissingParam) and equals app.Key
//     (ErrUnknownKey);
//   - auth_version is present (ErrMissingParam) and "1.0" (ErrMalformedParam);
//   - auth_timestamp is present (ErrMissingParam), an integer
//     (ErrMalformedParam) and at most window away from now, edges included
//     (ErrStaleTimestamp); a window <= 0 means DefaultTimestampWindow;
//   - for a non-empty body, body_md5 is present (ErrMissingParam) and equals
//     the lowercase hex MD5 of body (ErrBodyMD5); for an empty body,
//     body_md5 is optional but, when present, must be the MD5 of the empty
//     string (ErrBodyMD5);
//   - auth_signature is present (ErrMissingParam) and equals the lowercase
//     hex HMAC-SHA256 of "METHOD\nPATH\nCANONICAL_QUERY" (ErrBadSignature),
//     compared in constant time. CANONICAL_QUERY is every parameter except
//     auth_signature, names lowercased, sorted bytewise, joined as
//     "name=value" with "&", values not URL-encoded.
//
// An app with an empty Secret fails with ErrNoSecret.
func VerifyRequest(app App, method, path string, query url.Values, body []byte, now time.Time, window time.Duration) error {
	if app.Secret == "" {
		return ErrNoSecret
	}
	params := make(map[string]string, len(query))
	for k, vs := range query {
		if len(vs) == 0 {
			continue
		}
		lk := strings.ToLower(k)
		if _, dup := params[lk]; dup || len(vs) > 1 {
			return fmt.Errorf("%w: %q given more than once", ErrMalformedParam, lk)
		}
		params[lk] = vs[0]
	}

	key := params[paramKey]
	if key == "" {
		return fmt.Errorf("%w: %s", ErrMissingParam, paramKey)
	}
	if key != app.Key {
		return fmt.Errorf("%w: %q", ErrUnknownKey, key)
	}

	version, ok := params[paramVersion]
	if !ok {
		return fmt.Errorf("%w: %s", ErrMissingParam, paramVersion)
	}
	if version != AuthVersion {
		return fmt.Errorf("%w: unsupported %s %q", ErrMalformedParam, paramVersion, version)
	}

	tsText, ok := params[paramTimestamp]
	if !ok || tsText == "" {
		return fmt.Errorf("%w: %s", ErrMissingParam, paramTimestamp)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not an integer", ErrMalformedParam, paramTimestamp, tsText)
	}
	if window <= 0 {
		window = DefaultTimestampWindow
	}
	// Compare whole seconds; time.Time.Sub saturates instead of overflowing
	// for absurd timestamps.
	skew := time.Unix(now.Unix(), 0).Sub(time.Unix(ts, 0))
	if skew > window || skew < -window {
		return fmt.Errorf("%w: %s %d is %v from server time (window ±%v)",
			ErrStaleTimestamp, paramTimestamp, ts, skew, window)
	}

	bodyMD5, hasMD5 := params[paramBodyMD5]
	if len(body) > 0 && !hasMD5 {
		return fmt.Errorf("%w: %s required for a non-empty body", ErrMissingParam, paramBodyMD5)
	}
	if hasMD5 && bodyMD5 != md5Hex(body) {
		return fmt.Errorf("%w: got %q", ErrBodyMD5, bodyMD5)
	}

	sig, ok := params[paramSignature]
	if !ok || sig == "" {
		return fmt.Errorf("%w: %s", ErrMissingParam, paramSignature)
	}
	if !equalSig(app.Secret, requestMessage(method, path, params), sig) {
		return fmt.Errorf("%s %s: %w", strings.ToUpper(method), path, ErrBadSignature)
	}
	return nil
}
