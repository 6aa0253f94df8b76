package drivers

// NullDriver drops every broadcast. It is meant for tests and for
// switching broadcasting off (BROADCAST_DRIVER=null).
type NullDriver struct{}

// NewNullDriver returns a NullDriver.
func NewNullDriver() NullDriver { return NullDriver{} }

// Broadcast implements broadcast.Driver.
func (NullDriver) Broadcast([]string, string, interface{}) error { return nil }

// BroadcastExcept implements broadcast.Driver.
func (NullDriver) BroadcastExcept([]string, string, interface{}, string) error { return nil }

// GetClients implements broadcast.Driver.
func (NullDriver) GetClients(string) []string { return []string{} }
