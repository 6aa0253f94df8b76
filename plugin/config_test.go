package plugin

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const documentedEnv = `# WebSocket configuration (default driver)
BROADCAST_DRIVER=websocket
WEBSOCKET_HOST=0.0.0.0
WEBSOCKET_PORT=6001
WEBSOCKET_PATH=/ws

# Connection settings
WEBSOCKET_ALLOWED_ORIGINS=http://localhost:3000,http://localhost:8090
WEBSOCKET_PING_INTERVAL=30s
WEBSOCKET_READ_TIMEOUT=60s
WEBSOCKET_WRITE_TIMEOUT=10s
WEBSOCKET_MAX_MESSAGE_SIZE=524288  # 512KB
`

func writeEnv(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigDocumentedBlock(t *testing.T) {
	cfg, err := LoadConfig(writeEnv(t, documentedEnv))
	if err != nil {
		t.Fatal(err)
	}
	ws := cfg.WebSocket
	if cfg.Driver != "websocket" || ws.Host != "0.0.0.0" || ws.Port != 6001 || ws.Path != "/ws" ||
		strings.Join(ws.AllowedOrigins, " ") != "http://localhost:3000 http://localhost:8090" ||
		ws.PingInterval != 30*time.Second || ws.ReadTimeout != 60*time.Second ||
		ws.WriteTimeout != 10*time.Second || ws.MaxMessageSize != 524288 {
		t.Fatalf("the documented block loaded as %+v", cfg)
	}
}

func TestLoadConfigMissingFileAndEnvWins(t *testing.T) {
	t.Setenv("WEBSOCKET_PORT", "7001")
	cfg, err := LoadConfig(filepath.Join(t.TempDir(), "absent.env"), writeEnv(t, "WEBSOCKET_PORT=6002\nWEBSOCKET_PATH=/socket\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WebSocket.Port != 7001 || cfg.WebSocket.Path != "/socket" {
		t.Fatalf("port %d path %q: the environment must win over the file", cfg.WebSocket.Port, cfg.WebSocket.Path)
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	cases := []struct {
		name, env, variable string
	}{
		{"driver", "BROADCAST_DRIVER=kafka", "BROADCAST_DRIVER"},
		{"port text", "WEBSOCKET_PORT=abc", "WEBSOCKET_PORT"},
		{"port range", "WEBSOCKET_PORT=70000", "WEBSOCKET_PORT"},
		{"path", "WEBSOCKET_PATH=ws", "WEBSOCKET_PATH"},
		{"ping", "WEBSOCKET_PING_INTERVAL=soon", "WEBSOCKET_PING_INTERVAL"},
		{"read below ping", "WEBSOCKET_READ_TIMEOUT=10s", "WEBSOCKET_READ_TIMEOUT"},
		{"write", "WEBSOCKET_WRITE_TIMEOUT=-1s", "WEBSOCKET_WRITE_TIMEOUT"},
		{"size", "WEBSOCKET_MAX_MESSAGE_SIZE=12KB", "WEBSOCKET_MAX_MESSAGE_SIZE"},
		{"origins", "WEBSOCKET_ALLOWED_ORIGINS=localhost:3000", "WEBSOCKET_ALLOWED_ORIGINS"},
		{"queue", "WEBSOCKET_MAX_QUEUE_BYTES=10", "WEBSOCKET_MAX_QUEUE_BYTES"},
		{"client events", "BROADCAST_CLIENT_EVENTS=maybe", "BROADCAST_CLIENT_EVENTS"},
		{"history form", "BROADCAST_HISTORY=orders:100", "BROADCAST_HISTORY"},
		{"history size", "BROADCAST_HISTORY=orders=0/1m", "BROADCAST_HISTORY"},
		{"history ttl", "BROADCAST_HISTORY=orders=10/soon", "BROADCAST_HISTORY"},
		{"history pattern", "BROADCAST_HISTORY=bad name=10/1m", "BROADCAST_HISTORY"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(writeEnv(t, tc.env+"\n"))
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.variable) {
				t.Fatalf("error %v does not name %s", err, tc.variable)
			}
		})
	}
}

func TestBareSecondsDuration(t *testing.T) {
	cfg, err := LoadConfig(writeEnv(t, "WEBSOCKET_PING_INTERVAL=20\n"))
	if err != nil || cfg.WebSocket.PingInterval != 20*time.Second {
		t.Fatalf("%v %v", cfg.WebSocket.PingInterval, err)
	}
}

func TestHistoryRulesFromEnv(t *testing.T) {
	cfg, err := LoadConfig(writeEnv(t, "BROADCAST_HISTORY=orders=100/10m, chat.*=50/24h\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.WebSocket.History
	if len(h) != 2 || h[0].Pattern != "orders" || h[0].Size != 100 || h[0].TTL != 10*time.Minute ||
		h[1].Pattern != "chat.*" || h[1].Size != 50 || h[1].TTL != 24*time.Hour || !h[1].Match("chat.lobby") || h[1].Match("chats") {
		t.Fatalf("BROADCAST_HISTORY loaded as %+v", h)
	}
}

func TestPresenceGraceConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env  string
		want time.Duration
	}{
		{"", 3 * time.Second},              // the documented default
		{"BROADCAST_PRESENCE_GRACE=0", -1}, // off: a negative value in websocket.Config
		{"BROADCAST_PRESENCE_GRACE=500ms", 500 * time.Millisecond},
		{"BROADCAST_PRESENCE_GRACE=-1s", -time.Second},
		{"BROADCAST_PRESENCE_GRACE=10", 10 * time.Second},
	}
	for _, tc := range cases {
		vars := map[string]string{}
		if k, v, ok := strings.Cut(tc.env, "="); ok {
			vars[k] = v
		}
		cfg, err := FromLookup(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
		if err != nil || cfg.WebSocket.PresenceGracePeriod != tc.want {
			t.Errorf("%q: grace %v, %v; want %v", tc.env, cfg.WebSocket.PresenceGracePeriod, err, tc.want)
		}
		if got := cfg.WebSocket.WithDefaults().PresenceGracePeriod; err == nil && got != tc.want {
			t.Errorf("%q: the server's defaults turn %v into %v", tc.env, tc.want, got)
		}
	}
	for _, bad := range []string{"soon", "11m"} {
		_, err := FromLookup(func(k string) (string, bool) { return bad, k == "BROADCAST_PRESENCE_GRACE" })
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "BROADCAST_PRESENCE_GRACE") {
			t.Errorf("BROADCAST_PRESENCE_GRACE=%s: error %v does not name the variable", bad, err)
		}
	}
}

func TestMaxConnectionsPerUserConfig(t *testing.T) {
	t.Parallel()
	const name = "WEBSOCKET_MAX_CONNECTIONS_PER_USER"
	lookup := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) { return v, k == name && v != "" }
	}
	for _, tc := range []struct {
		env  string
		want int
	}{
		{"", 100}, // the documented default
		{"5", 5},
		{" 250 ", 250},
		{"-1", -1}, // no cap
		{"-20", -20},
	} {
		cfg, err := FromLookup(lookup(tc.env))
		if err != nil || cfg.WebSocket.MaxConnectionsPerUser != tc.want {
			t.Errorf("%s=%q: %d, %v; want %d", name, tc.env, cfg.WebSocket.MaxConnectionsPerUser, err, tc.want)
		}
		if got := cfg.WebSocket.WithDefaults().MaxConnectionsPerUser; err == nil && got != tc.want {
			t.Errorf("%s=%q: the server's defaults turn %d into %d", name, tc.env, tc.want, got)
		}
	}
	for _, bad := range []string{"0", "lots", "1.5", "100x", "0x10", "99999999999999999999"} {
		_, err := FromLookup(lookup(bad))
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v does not name the variable", name, bad, err)
		}
	}
}
