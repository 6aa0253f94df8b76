package plugin

import (
	"fmt"
	"net"
	"strconv"
)

// validateMetrics checks BROADCAST_METRICS_ADDR: a host:port (the host
// may be empty for every interface; port 0 picks a free one) that only
// makes sense with BROADCAST_METRICS=true.
func (c Config) validateMetrics() error {
	if c.MetricsAddr == "" {
		return nil
	}
	if !c.Metrics {
		return fmt.Errorf("%w: BROADCAST_METRICS_ADDR=%q is set but BROADCAST_METRICS is not true", ErrInvalidConfig, c.MetricsAddr)
	}
	_, port, err := net.SplitHostPort(c.MetricsAddr)
	if err == nil {
		var n int
		if n, err = strconv.Atoi(port); err == nil && (n < 0 || n > 65535) {
			err = fmt.Errorf("port %d out of range", n)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: BROADCAST_METRICS_ADDR=%q: want host:port such as 127.0.0.1:9090: %v", ErrInvalidConfig, c.MetricsAddr, err)
	}
	return nil
}
