package drivers

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/velocitykode/velocity/broadcast"
)

// LogDriver writes every broadcast to a logger and delivers nothing. It
// is meant for development without browsers.
type LogDriver struct {
	logger *slog.Logger
}

// NewLogDriver returns a LogDriver writing to logger (slog.Default() when nil).
func NewLogDriver(logger *slog.Logger) *LogDriver {
	if logger == nil {
		logger = slog.Default()
	}
	return &LogDriver{logger: logger}
}

// Publish implements broadcast.Publisher.
func (d *LogDriver) Publish(ctx context.Context, m *broadcast.Message) error {
	d.logger.InfoContext(ctx, "broadcast", "event", m.Event, "channels", m.Channels,
		"except", m.Except, "data", string(m.Data))
	return nil
}

// Broadcast implements broadcast.Driver.
func (d *LogDriver) Broadcast(channels []string, event string, data interface{}) error {
	return d.BroadcastExcept(channels, event, data, "")
}

// BroadcastExcept implements broadcast.Driver.
func (d *LogDriver) BroadcastExcept(channels []string, event string, data interface{}, socketID string) error {
	raw, ok := data.(json.RawMessage)
	if !ok {
		raw, _ = json.Marshal(data)
	}
	return d.Publish(context.Background(), &broadcast.Message{Channels: channels, Event: event, Data: raw, Except: socketID})
}

// GetClients implements broadcast.Driver; a LogDriver has no clients.
func (d *LogDriver) GetClients(string) []string { return []string{} }
