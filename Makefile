.PHONY: test ci vulncheck bench bench-centrifugo

# Every test (starts Redis and installs Chromium when missing).
test:
	scripts/test.sh

# What CI runs: gofmt, go mod tidy -diff, staticcheck, the cross-builds,
# govulncheck and the tests.
ci:
	bash .ci/run

# govulncheck against the pinned, locally built vulnerability database.
vulncheck:
	scripts/vulncheck.sh

# S1–S4 against examples/benchserver; report under bench/results/.
bench:
	scripts/bench.sh

# The same against Centrifugo v6.9.1 too (installed into /tmp/centrifugo-bin).
bench-centrifugo:
	scripts/bench.sh -t "native centrifugo"
