package build

// TriggerAction says what a trigger does.
type TriggerAction string

// Trigger actions.
const (
	TriggerEmail   TriggerAction = "email"
	TriggerWebhook TriggerAction = "webhook"
)

// TriggerCondition says when a trigger fires.
type TriggerCondition string

// Trigger conditions.
const (
	OnSuccess TriggerCondition = "success"
	OnFailure TriggerCondition = "failure" // failed, timeout or cancelled
	OnAlways  TriggerCondition = "always"
)

// Matches reports whether a trigger with condition c fires for a job (or
// group) that ended in status s. Non-terminal statuses never match.
func (c TriggerCondition) Matches(s JobStatus) bool {
	if !s.Terminal() {
		return false
	}
	switch c {
	case OnAlways:
		return true
	case OnSuccess:
		return s == JobSuccess
	case OnFailure:
		return s != JobSuccess
	}
	return false
}

// Trigger is an action fired once after a job or group ends.
type Trigger struct {
	Action    TriggerAction
	Condition TriggerCondition
	// Email
	To        string
	Cc        string
	InReplyTo string
	// Webhook
	URL string
}
