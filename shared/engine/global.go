package engine

// GlobalLimit is a limit the filter still has to count in the global rate-limit service after
// the local bucket let the request through.
type GlobalLimit struct {
	Name         string
	Scope, Value uint64
	Rate, Burst  int64
	Per          string
	// FailDeny refuses the request when the service cannot be reached.
	FailDeny bool
}

func globalLimit(l *rateLimit, value uint64) GlobalLimit {
	return GlobalLimit{Name: l.name, Scope: l.scope, Value: value, Rate: l.rate, Burst: l.burst, Per: l.per, FailDeny: l.failDeny}
}
