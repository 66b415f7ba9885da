// Package config parses the filter's plugin configuration: the JSON that Envoy passes as the
// Wasm filter's `configuration`. It is pure Go (no proxy-wasm imports) so tools and tests, such
// as the envoy.yaml check, can validate a configuration without a VM.
package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"os"

	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// Config is a parsed plugin configuration.
type Config struct {
	// Policy is enforced from the first request on. With Control set it is the initial policy
	// until the first snapshot arrives; it may then be omitted, and requests are refused with
	// 503 until a snapshot has been applied.
	Policy *policy.Document
	// Control, when set, makes the filter poll the control server for signed snapshots.
	Control *Control
	// RateLimit is where global rate limits are counted; required by a policy with one.
	RateLimit *RateLimitService
}

// RateLimitService is the global rate-limit service: Envoy's rate limit service protocol over
// HTTP/JSON (POST /json), reached with an http_call to an Envoy cluster.
type RateLimitService struct {
	Cluster   string
	Authority string
	// Domain is the RateLimitRequest's domain.
	Domain string
	// TimeoutMillis bounds one call; past it the limit's failure mode applies.
	TimeoutMillis int
}

// Defaults for the ratelimit section.
const (
	DefaultRateLimitAuthority = "portcullis-ratelimit"
	DefaultRateLimitDomain    = "portcullis"
	DefaultRateLimitTimeout   = 100
)

func readRateLimitService(r *strictjson.Reader, path string) *RateLimitService {
	s := &RateLimitService{Authority: DefaultRateLimitAuthority, Domain: DefaultRateLimitDomain, TimeoutMillis: DefaultRateLimitTimeout}
	isObject := r.Peek() == strictjson.Object
	for k := range r.Object(path) {
		switch k {
		case "cluster":
			s.Cluster = r.String(path, k)
		case "authority":
			s.Authority = r.String(path, k)
		case "domain":
			s.Domain = r.String(path, k)
		case "timeout_ms":
			s.TimeoutMillis = int(r.PositiveInt(path, k, 60_000))
		default:
			r.Unknown(path, k)
		}
	}
	if isObject && s.Cluster == "" {
		r.FieldErrorf(path, "cluster", "required")
	}
	if isObject && (s.Domain == "" || s.Authority == "") {
		r.FieldErrorf(path, "domain", "domain and authority must not be empty")
	}
	return s
}

// Control says where and how the filter fetches policy snapshots.
type Control struct {
	// Cluster is the Envoy cluster of the control server.
	Cluster string
	// Authority is the :authority of the poll request.
	Authority string
	// Token is the data-plane token (a secret: never logged): the "token" field, or the value of
	// the environment variable "token_env" names.
	Token string
	// TokenEnv is the environment variable the token came from ("" when given inline).
	TokenEnv string
	// PublicKey verifies snapshot signatures.
	PublicKey ed25519.PublicKey
	// PollIntervalMillis is the tick period: how soon after one poll ends the next starts.
	PollIntervalMillis int
	// WaitSeconds is how long the server may hold a poll open (long poll).
	WaitSeconds int
	// TimeoutMillis bounds one poll; it must exceed WaitSeconds.
	TimeoutMillis int
	// FreshnessWindowSeconds is the policy age past which the filter reports its policy stale
	// (portcullis_policy_stale; it keeps enforcing it): the age counts from the last poll
	// whose answer carried a valid signed freshness statement for that poll's nonce. It must
	// exceed WaitSeconds: a healthy policy's age climbs up to WaitSeconds between answers.
	FreshnessWindowSeconds int
}

// Defaults for the control section.
const (
	DefaultAuthority          = "portcullis-control"
	DefaultPollIntervalMillis = 200
	DefaultWaitSeconds        = 25
	// DefaultFreshnessWindowSeconds: long enough for ordinary clock skew and a control server
	// restart, short enough that a replayed answer holding a revoked key is refused soon.
	DefaultFreshnessWindowSeconds = 300
)

// ErrEmpty is returned for an empty configuration: a security filter with nothing to enforce
// must not start, because Envoy would then pass every request.
var ErrEmpty = errors.New(`plugin configuration is empty: it must hold {"policy": {...}}`)

// Parse decodes and validates a plugin configuration. Errors name the JSON path
// (`policy.routes[0].auth: required`) and list every problem found. control.token_env is read
// from the process environment: inside the VM, what Envoy's vm_config.environment_variables
// passes in.
func Parse(data []byte) (Config, error) { return ParseEnv(data, os.LookupEnv) }

// ParseEnv is Parse with the environment control.token_env is looked up in.
func ParseEnv(data []byte, lookupEnv func(string) (string, bool)) (Config, error) {
	if len(data) == 0 {
		return Config{}, ErrEmpty
	}
	var cfg Config
	r := strictjson.NewReader(data)
	isObject := r.Peek() == strictjson.Object
	for k := range r.Object("") {
		switch k {
		case "policy":
			cfg.Policy = policy.Read(r, k)
		case "control":
			cfg.Control = readControl(r, k, lookupEnv)
		case "ratelimit":
			cfg.RateLimit = readRateLimitService(r, k)
		default:
			r.Unknown("", k)
		}
	}
	if isObject && cfg.Policy == nil && cfg.Control == nil {
		r.Errorf("policy", "required unless a control section is given")
	}
	if err := r.Finish(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func readControl(r *strictjson.Reader, path string, lookupEnv func(string) (string, bool)) *Control {
	c := &Control{Authority: DefaultAuthority, PollIntervalMillis: DefaultPollIntervalMillis, WaitSeconds: DefaultWaitSeconds,
		FreshnessWindowSeconds: DefaultFreshnessWindowSeconds}
	tokenFields := 0
	timeoutSet := false
	isObject := r.Peek() == strictjson.Object
	for k := range r.Object(path) {
		switch k {
		case "cluster":
			c.Cluster = r.String(path, k)
		case "authority":
			c.Authority = r.String(path, k)
		case "token":
			c.Token = r.String(path, k)
			tokenFields++
		case "token_env":
			// The token from the VM's environment (Envoy: vm_config.environment_variables), so
			// it need not sit in the plugin configuration, which Envoy shows in config dumps.
			name := r.String(path, k)
			tokenFields++
			if name == "" {
				r.FieldErrorf(path, k, "must name an environment variable")
				break
			}
			if v, ok := lookupEnv(name); ok && v != "" {
				c.Token, c.TokenEnv = v, name
				break
			}
			r.FieldErrorf(path, k, "the environment variable %s is not set in the Wasm VM (Envoy: vm_config.environment_variables)", name)
		case "public_key":
			if r.Peek() != strictjson.String {
				r.String(path, k) // records the type error
				break
			}
			key, err := base64.StdEncoding.DecodeString(r.String(path, k))
			if err != nil || len(key) != ed25519.PublicKeySize {
				r.FieldErrorf(path, k, "must be a base64 Ed25519 public key (32 bytes)")
				break
			}
			c.PublicKey = key
		case "poll_interval_ms":
			c.PollIntervalMillis = int(r.PositiveInt(path, k, 60_000))
		case "wait_seconds":
			c.WaitSeconds = int(r.PositiveInt(path, k, 60))
		case "timeout_ms":
			timeoutSet = true
			c.TimeoutMillis = int(r.PositiveInt(path, k, 120_000))
		case "freshness_window_seconds":
			c.FreshnessWindowSeconds = int(r.PositiveInt(path, k, 86_400))
		default:
			r.Unknown(path, k)
		}
	}
	if !isObject {
		return c
	}
	if tokenFields > 1 {
		r.FieldErrorf(path, "token", "give token or token_env, not both")
	}
	for _, req := range []struct{ field, value string }{{"cluster", c.Cluster}, {"token", c.Token}, {"authority", c.Authority}} {
		if req.field == "token" && tokenFields > 0 {
			continue // a bad token or token_env has its own error
		}
		if req.value == "" {
			r.FieldErrorf(path, req.field, "required")
		}
	}
	if c.PublicKey == nil && !r.Failed() {
		r.FieldErrorf(path, "public_key", "required: snapshots are accepted only with a valid signature")
	}
	if c.FreshnessWindowSeconds > 0 && c.FreshnessWindowSeconds <= c.WaitSeconds {
		r.FieldErrorf(path, "freshness_window_seconds", "must exceed wait_seconds (%d s), or a healthy policy would be reported stale between answers", c.WaitSeconds)
	}
	if !timeoutSet {
		c.TimeoutMillis = c.WaitSeconds*1000 + 5000
	} else if c.TimeoutMillis > 0 && c.TimeoutMillis <= c.WaitSeconds*1000 {
		r.FieldErrorf(path, "timeout_ms", "must exceed wait_seconds (%d s), or every long poll would time out", c.WaitSeconds)
	}
	return c
}
