// Command webhook sends webhooks with broadcast/webhook for the Node
// compatibility test of the pusher SDK's webhook helper. It reads a JSON
// array of events on stdin, sends them all at once to the endpoints of
// -webhooks (the BROADCAST_WEBHOOKS syntax), waits until they are
// delivered, prints the Sender's Stats as JSON and exits 1 if an event
// was not delivered.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/velocitykode/velocity/broadcast/webhook"
)

func main() {
	spec := flag.String("webhooks", "", "endpoints, as in BROADCAST_WEBHOOKS")
	key := flag.String("key", "compat-key", "app key")
	secret := flag.String("secret", "compat-secret", "app secret")
	flag.Parse()
	if err := run(*spec, *key, *secret); err != nil {
		fmt.Fprintln(os.Stderr, "webhook:", err)
		os.Exit(1)
	}
}

func run(spec, key, secret string) error {
	var events []webhook.Event
	if err := json.NewDecoder(os.Stdin).Decode(&events); err != nil {
		return fmt.Errorf("events on stdin: %w", err)
	}
	endpoints, err := webhook.ParseSpec(spec)
	if err != nil {
		return err
	}
	s, err := webhook.New(webhook.Config{
		AppKey: key, AppSecret: secret, Endpoints: endpoints,
		RetryBase: 50 * time.Millisecond, Timeout: 5 * time.Second,
	})
	if err != nil {
		return err
	}
	s.Send(events...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	closeErr := s.Close(ctx)
	st := s.Stats()
	if err := json.NewEncoder(os.Stdout).Encode(st); err != nil {
		return err
	}
	if closeErr != nil || st.Dropped > 0 || st.Invalid > 0 {
		return fmt.Errorf("not all delivered: %v, %d dropped, %d invalid", closeErr, st.Dropped, st.Invalid)
	}
	return nil
}
