package plugin

import (
	"context"
	"fmt"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/webhook"
)

// webhookKinds maps the lifecycle events that have a webhook to its name.
var webhookKinds = map[broadcast.LifecycleKind]string{
	broadcast.ChannelOccupied:   webhook.NameChannelOccupied,
	broadcast.ChannelVacated:    webhook.NameChannelVacated,
	broadcast.MemberAdded:       webhook.NameMemberAdded,
	broadcast.MemberRemoved:     webhook.NameMemberRemoved,
	broadcast.ClientEvent:       webhook.NameClientEvent,
	broadcast.CacheMiss:         webhook.NameCacheMiss,
	broadcast.SubscriptionCount: webhook.NameSubscriptionCount,
}

// startWebhooks sends the lifecycle events some receiver of
// BROADCAST_WEBHOOKS wants, signed with the app's key and secret. They
// are the broadcaster's hooks, so each event goes out from the one
// process that reports it: occupancy and member events once per cluster.
func (p *Plugin) startWebhooks() error {
	if len(p.cfg.Webhooks) == 0 {
		return nil
	}
	s, err := webhook.New(webhook.Config{
		AppKey: p.cfg.App.Key, AppSecret: p.cfg.App.Secret, Endpoints: p.cfg.Webhooks, Logger: p.logger,
	})
	if err != nil {
		return fmt.Errorf("%w: BROADCAST_WEBHOOKS: %w", ErrInvalidConfig, err)
	}
	p.webhooks = s
	forward := func(_ context.Context, e broadcast.LifecycleEvent) { s.Send(webhookEvent(e)) }
	for kind, name := range webhookKinds {
		if wanted(p.cfg.Webhooks, name) {
			p.unhook = append(p.unhook, p.b.On(kind, forward))
		}
	}
	return nil
}

// wanted reports whether a receiver takes events named name.
func wanted(eps []webhook.Endpoint, name string) bool {
	for _, ep := range eps {
		if len(ep.Events) == 0 {
			return true
		}
		for _, n := range ep.Events {
			if n == name {
				return true
			}
		}
	}
	return false
}

// webhookEvent is the webhook event of a lifecycle event of webhookKinds.
func webhookEvent(e broadcast.LifecycleEvent) webhook.Event {
	switch e.Kind {
	case broadcast.ChannelOccupied:
		return webhook.ChannelOccupied(e.Channel)
	case broadcast.ChannelVacated:
		return webhook.ChannelVacated(e.Channel)
	case broadcast.MemberAdded:
		return webhook.MemberAdded(e.Channel, e.UserID)
	case broadcast.MemberRemoved:
		return webhook.MemberRemoved(e.Channel, e.UserID)
	case broadcast.ClientEvent:
		return webhook.ClientEvent(e.Channel, e.Event, string(e.Data), e.SocketID, e.UserID)
	case broadcast.CacheMiss:
		return webhook.CacheMiss(e.Channel)
	default:
		return webhook.SubscriptionCount(e.Channel, e.Count)
	}
}

// Webhooks returns the webhook sender (its Stats), or nil without
// BROADCAST_WEBHOOKS.
func (p *Plugin) Webhooks() *webhook.Sender { return p.webhooks }

// stopWebhooks removes the hooks and sends what is queued until ctx ends.
func (p *Plugin) stopWebhooks(ctx context.Context) error {
	p.mu.Lock()
	unhook := p.unhook
	p.unhook = nil
	p.mu.Unlock()
	for _, off := range unhook {
		off()
	}
	if p.webhooks == nil {
		return nil
	}
	return p.webhooks.Close(ctx)
}
