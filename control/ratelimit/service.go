// Package ratelimit is Portcullis' global rate-limit service: Envoy's rate limit service
// protocol (envoy.service.ratelimit.v3) over its HTTP/JSON mapping (POST /json), counting
// token buckets in Redis with one Lua script per request. The filter reaches it with a
// proxy-wasm http_call to a named cluster; Envoy's own rate limit filter could not (it speaks
// gRPC only), but any client of envoyproxy/ratelimit's /json endpoint can.
//
// It runs as its own process (cmd/portcullis-ratelimit), not inside the control server: its
// load grows with the data plane's requests, the control server's with policy changes.
package ratelimit

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"
)

//go:embed bucket.lua
var bucketScript string

var script = redis.NewScript(bucketScript)

// Limits on one request, so a client cannot make one call cost Redis unbounded work.
const (
	maxBody        = 64 << 10
	maxDescriptors = 16
	maxEntries     = 8
	maxKeyBytes    = 512
)

// BurstKey is the descriptor entry carrying a limit's burst. The RLS protocol has no burst;
// without this entry a limit's burst is its rate (what a fixed-window service would allow).
const BurstKey = "burst"

// Config configures the service.
type Config struct {
	Redis redis.Scripter
	// Now is the clock; nil uses the Redis server's clock, which every replica shares.
	Now func() time.Time
	// Prefix namespaces the Redis keys; default "portcullis:rl:".
	Prefix string
	Logger *slog.Logger
}

type service struct{ cfg Config }

// Handler serves POST /json.
func Handler(cfg Config) http.Handler {
	if cfg.Prefix == "" {
		cfg.Prefix = "portcullis:rl:"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	s := &service{cfg: cfg}
	mux.HandleFunc("POST /json", s.serveJSON)
	mux.HandleFunc("GET /healthcheck", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "OK") })
	return mux
}

var errBadRequest = errors.New("bad request")

// serveJSON answers like envoyproxy/ratelimit's /json endpoint: the RateLimitResponse in JSON,
// status 200 when OK, 429 when over the limit, 400 for a malformed request, 500 when Redis
// failed (the filter then applies the limit's failure mode).
func (s *service) serveJSON(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(w, "request body too large or unreadable", http.StatusBadRequest)
		return
	}
	var req rlsv3.RateLimitRequest
	if err := protojson.Unmarshal(body, &req); err != nil {
		http.Error(w, "not a RateLimitRequest: "+err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := s.shouldRateLimit(r.Context(), &req)
	switch {
	case errors.Is(err, errBadRequest):
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		s.cfg.Logger.Error("ratelimit: counting in redis", "err", err)
		http.Error(w, "counter unavailable", http.StatusInternalServerError)
		return
	}
	out, err := protojson.Marshal(resp)
	if err != nil {
		http.Error(w, "encoding the response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("content-type", "application/json")
	if resp.OverallCode == rlsv3.RateLimitResponse_OVER_LIMIT {
		w.WriteHeader(http.StatusTooManyRequests)
	}
	w.Write(out)
}

var periodMillis = map[typev3.RateLimitUnit]int64{
	typev3.RateLimitUnit_SECOND: 1000, typev3.RateLimitUnit_MINUTE: 60_000, typev3.RateLimitUnit_HOUR: 3_600_000,
}

// shouldRateLimit counts every descriptor that carries a limit, all or nothing, in one script.
// Descriptors without a limit override are not limited (this service has no configuration of
// its own: the policy travels with the request).
func (s *service) shouldRateLimit(ctx context.Context, req *rlsv3.RateLimitRequest) (*rlsv3.RateLimitResponse, error) {
	if req.Domain == "" || len(req.Descriptors) == 0 || len(req.Descriptors) > maxDescriptors {
		return nil, fmt.Errorf("%w: a domain and 1-%d descriptors are required", errBadRequest, maxDescriptors)
	}
	hits := int64(req.HitsAddend)
	if hits == 0 {
		hits = 1
	}
	resp := &rlsv3.RateLimitResponse{OverallCode: rlsv3.RateLimitResponse_OK}
	var keys []string
	var args []any
	now := int64(0)
	if s.cfg.Now != nil {
		now = s.cfg.Now().UnixMilli()
	}
	args = append(args, now)
	var counted []int // descriptor index of each key
	var limits []*rlsv3.RateLimitResponse_RateLimit
	for i, d := range req.Descriptors {
		resp.Statuses = append(resp.Statuses, &rlsv3.RateLimitResponse_DescriptorStatus{Code: rlsv3.RateLimitResponse_OK})
		if len(d.Entries) == 0 || len(d.Entries) > maxEntries {
			return nil, fmt.Errorf("%w: descriptor %d has %d entries (1-%d)", errBadRequest, i, len(d.Entries), maxEntries)
		}
		if d.Limit == nil {
			continue
		}
		per, ok := periodMillis[d.Limit.Unit]
		mult := int64(1)
		if d.Limit.UnitMultiplier != nil {
			mult = int64(d.Limit.UnitMultiplier.Value)
		}
		if !ok || mult < 1 || mult > 24 || d.Limit.RequestsPerUnit == 0 || d.Limit.RequestsPerUnit > 1_000_000 {
			return nil, fmt.Errorf("%w: descriptor %d: unsupported limit", errBadRequest, i)
		}
		per *= mult
		rate := int64(d.Limit.RequestsPerUnit)
		burst := rate
		var key strings.Builder
		key.WriteString(s.cfg.Prefix + req.Domain)
		for _, e := range d.Entries {
			if e.Key == BurstKey {
				b, err := strconv.ParseInt(e.Value, 10, 64)
				if err != nil || b < 1 || b > 1_000_000 {
					return nil, fmt.Errorf("%w: descriptor %d: burst must be 1-1000000", errBadRequest, i)
				}
				burst = b
			}
			key.WriteString("|" + e.Key + "=" + e.Value)
		}
		if key.Len() > maxKeyBytes {
			return nil, fmt.Errorf("%w: descriptor %d is longer than %d bytes", errBadRequest, i, maxKeyBytes)
		}
		keys = append(keys, key.String())
		// Units: a token is per ms-units; the rate refills rate units per ms.
		args = append(args, per, rate, burst, hits)
		counted = append(counted, i)
		limits = append(limits, &rlsv3.RateLimitResponse_RateLimit{RequestsPerUnit: uint32(rate), Unit: rlsv3.RateLimitResponse_RateLimit_Unit(d.Limit.Unit)})
	}
	if len(keys) == 0 {
		return resp, nil
	}
	res, err := script.Run(ctx, s.cfg.Redis, keys, args...).Int64Slice()
	if err != nil {
		return nil, err
	}
	if len(res) != 1+3*len(keys) {
		return nil, fmt.Errorf("script returned %d values for %d keys", len(res), len(keys))
	}
	allowed := res[0] == 1
	if !allowed {
		resp.OverallCode = rlsv3.RateLimitResponse_OVER_LIMIT
	}
	for j, i := range counted {
		remaining, untilToken, untilFull := res[1+3*j], res[2+3*j], res[3+3*j]
		st := resp.Statuses[i]
		st.CurrentLimit = limits[j]
		st.LimitRemaining = uint32(remaining)
		// The time a client must wait: until a token when refused, until full otherwise.
		wait := untilFull
		if !allowed && untilToken > 0 {
			st.Code = rlsv3.RateLimitResponse_OVER_LIMIT
			wait = untilToken
		}
		st.DurationUntilReset = durationpb.New(time.Duration(wait) * time.Millisecond)
	}
	return resp, nil
}
