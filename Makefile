.PHONY: bench bench-centrifugo

# S1–S4 against examples/benchserver; report under bench/results/.
bench:
	scripts/bench.sh

# The same against Centrifugo v6.9.1 too (installed into /tmp/centrifugo-bin).
bench-centrifugo:
	scripts/bench.sh -t "native centrifugo"
