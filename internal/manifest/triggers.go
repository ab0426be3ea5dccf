package manifest

import (
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"builds/internal/build"
)

// triggerKeys lists the keys a trigger may have.
var triggerKeys = []string{"action", "condition", "to", "cc", "in_reply_to", "url"}

// triggerFields maps each action to the keys that belong to it alone.
var triggerFields = map[build.TriggerAction][]string{
	build.TriggerEmail:   {"to", "cc", "in_reply_to"},
	build.TriggerWebhook: {"url"},
}

func (p *parser) triggers(v *yaml.Node) {
	p.list("triggers", v, func(path string, item *yaml.Node) {
		if deref(item).Kind != yaml.MappingNode {
			p.errorf(item, path, "each trigger must be a map with action and condition, not %s", kindName(item))
			return
		}
		if t, ok := p.trigger(path, item); ok {
			p.m.Triggers = append(p.m.Triggers, t)
		}
	})
}

// trigger parses one trigger map. A key whose value is not a string is
// reported once and otherwise ignored, so it is not also called missing.
func (p *parser) trigger(path string, n *yaml.Node) (build.Trigger, bool) {
	var t build.Trigger
	vals := map[string]*yaml.Node{}
	before := len(p.problems)
	p.mapping(path, n, func(key string, k, v *yaml.Node) {
		if !slices.Contains(triggerKeys, key) {
			p.warnf(k, join(path, key), "%s; it is ignored", unknownKeyMessage(key, triggerKeys))
			return
		}
		vals[key] = v
		s, ok := p.text(join(path, key), v)
		if !ok {
			return
		}
		switch key {
		case "action":
			t.Action = build.TriggerAction(s)
		case "condition":
			t.Condition = build.TriggerCondition(s)
		case "to":
			t.To = s
		case "cc":
			t.Cc = s
		case "in_reply_to":
			t.InReplyTo = s
		case "url":
			t.URL = s
		}
	})
	p.triggerCondition(path, n, vals["condition"], t.Condition)
	p.triggerAction(path, n, vals, t)
	return t, len(p.problems) == before
}

var conditions = []string{string(build.OnSuccess), string(build.OnFailure), string(build.OnAlways)}

func (p *parser) triggerCondition(path string, n, v *yaml.Node, c build.TriggerCondition) {
	switch {
	case v == nil:
		p.errorf(n, path, "missing key \"condition\": success, failure or always")
	case c == "" || slices.Contains(conditions, string(c)):
		// Valid, or not a string and reported already.
	default:
		msg := fmt.Sprintf("%q is not a condition", string(c))
		if s := suggest(string(c), conditions); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		p.errorf(v, join(path, "condition"), "%s; use success, failure or always", msg)
	}
}

// triggerAction checks the action and the keys that go with it.
func (p *parser) triggerAction(path string, n *yaml.Node, vals map[string]*yaml.Node, t build.Trigger) {
	own, known := triggerFields[t.Action]
	switch {
	case vals["action"] == nil:
		p.errorf(n, path, "missing key \"action\": email or webhook")
		return
	case t.Action == "":
		return // not a string, reported already
	case !known:
		p.errorf(vals["action"], join(path, "action"), "%q is not an action; use email or webhook", string(t.Action))
		return
	}
	for action, fields := range triggerFields {
		for _, f := range fields {
			if action != t.Action && vals[f] != nil {
				p.errorf(vals[f], join(path, f), "belongs to %s triggers, not %s ones; valid keys here are action, condition, %s",
					action, t.Action, strings.Join(own, ", "))
			}
		}
	}
	switch t.Action {
	case build.TriggerEmail:
		p.emailTrigger(path, n, vals, t)
	case build.TriggerWebhook:
		p.webhookTrigger(path, n, vals["url"], t.URL)
	}
}

func (p *parser) emailTrigger(path string, n *yaml.Node, vals map[string]*yaml.Node, t build.Trigger) {
	if vals["to"] == nil && vals["cc"] == nil {
		p.errorf(n, path, "missing key \"to\": email triggers need an address to send to (builds.sr.ht would have no one to mail either)")
	} else if vals["to"] != nil {
		if _, err := mail.ParseAddressList(t.To); err != nil {
			p.errorf(vals["to"], join(path, "to"), "%q is not a list of email addresses", t.To)
		}
	}
	if vals["cc"] != nil {
		if _, err := mail.ParseAddressList(t.Cc); err != nil {
			p.errorf(vals["cc"], join(path, "cc"), "%q is not a list of email addresses", t.Cc)
		}
	}
	if v := vals["in_reply_to"]; v != nil && (strings.TrimSpace(t.InReplyTo) == "" || strings.ContainsAny(t.InReplyTo, "\r\n")) {
		p.errorf(v, join(path, "in_reply_to"), "must be a message ID such as <id@example.org>")
	}
}

func (p *parser) webhookTrigger(path string, n, v *yaml.Node, raw string) {
	if v == nil {
		p.errorf(n, path, "missing key \"url\": webhook triggers need a URL to post to")
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.errorf(v, join(path, "url"), "%q is not an http or https URL", raw)
	}
}
