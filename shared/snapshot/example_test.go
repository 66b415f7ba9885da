package snapshot_test

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"time"

	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/snapshot"
)

func Example() {
	// Control server: encode, sign, publish the public key.
	pub, priv, _ := ed25519.GenerateKey(strings.NewReader(strings.Repeat("seed", 8)))
	doc, _ := policy.Parse([]byte(`{"version": 1, "routes": [{"name": "api", "match": {"path_prefix": "/api"}, "auth": {"type": "api_key"}}]}`))
	payload, _ := snapshot.Encode(7, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), doc)
	sig := snapshot.Sign(priv, payload)
	publicKey := snapshot.FormatPublicKey(pub)

	// Filter: parse the configured key once, then verify before decoding.
	key, _ := snapshot.ParsePublicKey(publicKey)
	if err := snapshot.Verify(key, payload, sig); err != nil {
		fmt.Println(err)
		return
	}
	s, _ := snapshot.Decode(payload)
	fmt.Println(s.Version, s.Policy.Routes[0].Name)

	payload[len(payload)-2] = ' '
	fmt.Println(snapshot.Verify(key, payload, sig))
	// Output:
	// 7 api
	// snapshot signature does not verify
}
