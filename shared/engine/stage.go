package engine

// Stage is the step of the request pipeline that decided, for logs, metrics and dry runs.
type Stage uint8

// The stages, in pipeline order.
const (
	StageNone      Stage = iota
	StagePath            // path hygiene
	StageRoute           // route match and the default action
	StageLimits          // header and body limits
	StageClient          // client address and IP lists
	StageCORS            // CORS preflights
	StageAuth            // authentication
	StageGuard           // the key's allowed paths, permission, admin and staff guards
	StageSignature       // webhook signatures over the body
	StageRateLimit       // rate and concurrency limits
	StageAllow           // every check passed
	StageFilter          // the filter itself: no policy, an internal error, the streamed body
)

var stageNames = [...]string{
	StageNone: "", StagePath: "path", StageRoute: "route", StageLimits: "limits", StageClient: "client",
	StageCORS: "cors", StageAuth: "auth", StageGuard: "guard", StageSignature: "signature", StageRateLimit: "rate_limit", StageAllow: "allow", StageFilter: "filter",
}

func (s Stage) String() string {
	if int(s) < len(stageNames) {
		return stageNames[s]
	}
	return "unknown"
}
