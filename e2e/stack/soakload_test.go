package stack_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// soakPolicy: an open route, an upload route with a 4 KiB body limit, and API keys for the
// rest.
var soakPolicy = []byte(`{"version": 1, "routes": [
	{"name": "open", "match": {"path_prefix": "/open"}, "auth": {"type": "none"}},
	{"name": "upload", "match": {"path_prefix": "/upload", "methods": ["POST"]}, "auth": {"type": "api_key"},
	 "limits": {"max_body_bytes": 4096}},
	{"name": "everything", "match": {"path_prefix": "/"}, "auth": {"type": "api_key"}}]}`)

// soakKinds are the requests of the mix, with their weights.
var soakKinds = []struct {
	name   string
	weight int
}{
	{"get", 24},              // stable key, GET → 200 with its identity
	{"body", 12},             // stable key, POST with a body → 200, the body arrives intact
	{"spoof", 4},             // stable key + a forged x-portcullis-key-id → 200, the real identity
	{"churn", 20},            // a churned key, judged against its history
	{"upload", 6},            // POST /upload within 4 KiB → 200
	{"upload-too-large", 4},  // declared over 4 KiB → 413 body_too_large
	{"upload-streamed", 4},   // chunked, growing over 4 KiB → 413 body_too_large
	{"restricted-ok", 4},     // key limited to /public/ → 200 there
	{"restricted-denied", 4}, // … and 403 path_not_allowed elsewhere
	{"no-key", 5},            // 401 missing_credentials
	{"unknown-key", 5},       // 401 invalid_credentials
	{"bad-path", 4},          // %2e%2e → 400 invalid_path
	{"open", 4},              // auth none → 200 without an identity
}

// load sends the mix through the gateway from plan.clients keep-alive clients and checks every
// answer.
type load struct {
	e      env
	client *http.Client
	ring   *keyring
	stable []soakKey // never revoked; stable[0] is limited to /public/
	seed   uint64

	issued, answered atomic.Int64
	wrong, failed    atomic.Int64 // wrong decisions; requests that got no answer at all
	graceAnswers     atomic.Int64 // churn answers inside a publish cycle (either was right)
	churnAllowed     atomic.Int64 // churn answers that had to be 200
	churnDenied      atomic.Int64 // churn answers that had to be 401

	mu      sync.Mutex
	reports []string // the first wrong decisions, in detail
}

// run sends requests until limit have been issued in all, and past that while more (if not nil)
// says so.
func (l *load) run(clients int, limit int64, more func() bool) {
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(l.seed, uint64(w)+uint64(limit)))
			for l.issued.Add(1) <= limit || (more != nil && more()) {
				l.one(rng)
				l.answered.Add(1)
			}
			l.issued.Add(-1)
		})
	}
	wg.Wait()
}

// soakWeights is the sum of the kinds' weights.
var soakWeights = func() (n int) {
	for _, k := range soakKinds {
		n += k.weight
	}
	return n
}()

func (l *load) one(rng *rand.Rand) {
	n := rng.IntN(soakWeights)
	kind := soakKinds[0].name
	for _, k := range soakKinds {
		if n < k.weight {
			kind = k.name
			break
		}
		n -= k.weight
	}
	full := l.stable[1+rng.IntN(len(l.stable)-1)]
	x := exchange{method: http.MethodGet, path: "/svc/" + strconv.Itoa(rng.IntN(1000)) + "?q=" + strconv.Itoa(rng.IntN(10))}
	switch kind {
	case "get":
		x.key, x.want, x.identity = full, http.StatusOK, full.id
	case "body":
		x.method, x.body, x.key, x.want, x.identity = http.MethodPost, letters(rng, rng.IntN(16<<10)), full, http.StatusOK, full.id
	case "spoof":
		x.key, x.want, x.identity = full, http.StatusOK, full.id
		x.header = [2]string{"X-Portcullis-Key-Id", "key_forged"}
	case "churn":
		k, ok := l.ring.pick(rng.Uint64())
		if !ok {
			x.key, x.want, x.identity = full, http.StatusOK, full.id
			break
		}
		x.key, x.churn = k, true
	case "upload":
		x.method, x.path, x.body, x.key, x.want, x.identity = http.MethodPost, "/upload", letters(rng, 1+rng.IntN(4096)), full, http.StatusOK, full.id
	case "upload-too-large":
		x.method, x.path, x.body, x.key, x.want, x.code = http.MethodPost, "/upload", letters(rng, 4097+rng.IntN(4096)), full, http.StatusRequestEntityTooLarge, "body_too_large"
	case "upload-streamed":
		x.method, x.path, x.body, x.key, x.want, x.code = http.MethodPost, "/upload", letters(rng, 4097+rng.IntN(4096)), full, http.StatusRequestEntityTooLarge, "body_too_large"
		x.chunked = true
	case "restricted-ok":
		x.path, x.key, x.want, x.identity = "/public/"+strconv.Itoa(rng.IntN(100)), l.stable[0], http.StatusOK, l.stable[0].id
	case "restricted-denied":
		x.path, x.key, x.want, x.code = "/admin/"+strconv.Itoa(rng.IntN(100)), l.stable[0], http.StatusForbidden, "path_not_allowed"
	case "no-key":
		x.want, x.code = http.StatusUnauthorized, "missing_credentials"
	case "unknown-key":
		x.key = soakKey{raw: fmt.Sprintf("pcs_unknown_%016x%016x", rng.Uint64(), rng.Uint64())}
		x.want, x.code = http.StatusUnauthorized, "invalid_credentials"
	case "bad-path":
		x.path, x.key, x.want, x.code = "/svc/%2e%2e/admin", full, http.StatusBadRequest, "invalid_path"
	case "open":
		x.path, x.want = "/open/"+strconv.Itoa(rng.IntN(100)), http.StatusOK
	}
	x.bearer = rng.IntN(2) == 0
	l.exchange(kind, &x)
}

// exchange is one request and what its answer must be.
type exchange struct {
	method, path string
	body         []byte
	chunked      bool
	key          soakKey
	bearer       bool // Authorization: Bearer instead of X-API-Key
	header       [2]string
	churn        bool // judged against the key's history instead of want

	want     int
	identity string // on 200: the x-portcullis-key-id the upstream must see ("" for none)
	code     string // on a denial: the error code
}

func (l *load) exchange(kind string, x *exchange) {
	var body io.Reader
	if x.body != nil {
		body = bytes.NewReader(x.body)
		if x.chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
	}
	req, err := http.NewRequest(x.method, l.e.GatewayURL()+x.path, body)
	if err != nil {
		panic(err)
	}
	if x.key.raw != "" {
		if x.bearer {
			req.Header.Set("Authorization", "Bearer "+x.key.raw)
		} else {
			req.Header.Set("X-Api-Key", x.key.raw)
		}
	}
	if x.header[0] != "" {
		req.Header.Set(x.header[0], x.header[1])
	}
	sent := time.Now()
	resp, err := l.client.Do(req)
	if err != nil {
		l.failed.Add(1)
		l.report("%s: no answer: %v", kind, err)
		return
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	answered := time.Now()
	if err != nil {
		l.failed.Add(1)
		l.report("%s: reading the answer: %v", kind, err)
		return
	}
	if x.churn {
		// The key's history as it is now, after the answer: a revocation that started later
		// cannot have been seen by the filter.
		k := l.ring.state(x.key.id)
		switch k.expect(sent, answered) {
		case either:
			l.graceAnswers.Add(1)
			if resp.StatusCode == http.StatusOK {
				x.want, x.identity = http.StatusOK, k.id
			} else {
				x.want, x.code = http.StatusUnauthorized, "invalid_credentials"
			}
		case mustAllow:
			l.churnAllowed.Add(1)
			x.want, x.identity = http.StatusOK, k.id
		case mustDeny:
			l.churnDenied.Add(1)
			x.want, x.code = http.StatusUnauthorized, "invalid_credentials"
		}
	}
	if problem := x.check(resp.StatusCode, answer); problem != "" {
		l.wrong.Add(1)
		k := x.key
		if x.churn {
			k = l.ring.state(x.key.id)
		}
		l.report("%s %s %s key %q (created %s, active %s, revoking %s, revoked %s), sent %s, answered %s: %s",
			kind, x.method, x.path, k.id, clock(k.created), clock(k.active), clock(k.revoking), clock(k.revoked), clock(sent), clock(answered), problem)
	}
}

// check compares an answer with the exchange's expectations.
func (x *exchange) check(status int, answer []byte) string {
	if status != x.want {
		return fmt.Sprintf("status %d, want %d: %.200s", status, x.want, answer)
	}
	if status != http.StatusOK {
		var deny struct{ Code string }
		if err := json.Unmarshal(answer, &deny); err != nil || deny.Code != x.code {
			return fmt.Sprintf("denial %.200s, want code %q", answer, x.code)
		}
		return ""
	}
	var echo struct {
		Method, Path string
		Headers      map[string]string
		Body         string
	}
	if err := json.Unmarshal(answer, &echo); err != nil {
		return fmt.Sprintf("upstream answer %.200s: %v", answer, err)
	}
	if got := echo.Headers["x-portcullis-key-id"]; got != x.identity {
		return fmt.Sprintf("the upstream saw identity %q, want %q", got, x.identity)
	}
	if echo.Method != x.method || echo.Body != string(x.body) {
		return fmt.Sprintf("the upstream saw %s with %d body bytes, want %s with %d", echo.Method, len(echo.Body), x.method, len(x.body))
	}
	return ""
}

func (l *load) report(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.reports) < 20 {
		l.reports = append(l.reports, fmt.Sprintf(format, args...))
	}
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("15:04:05.000")
}

// letters is n random ASCII letters: a body that survives the echo's JSON unchanged.
func letters(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + rng.IntN(26))
	}
	return b
}
