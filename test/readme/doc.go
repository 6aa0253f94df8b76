// Package readme tests the code snippets of the repository's README.md as
// they are written there. A snippet under test is marked with an HTML
// comment on the line before its fence:
//
//	<!-- test: quickstart -->
//	```go
//
// The quickstart test builds the Quick start program in a module of its
// own (offline: the module's dependencies come from this repository's
// go.sum and the local module cache), runs it, and checks that its routes
// are mounted and that an order shipped through its endpoint reaches a
// WebSocket subscriber. The laravel-echo snippet is tested by
// test/compat/tests/readme.test.mjs.
package readme
