package policy_test

import (
	"fmt"

	"github.com/portcullis/portcullis/shared/policy"
)

func ExampleParse() {
	doc, err := policy.Parse([]byte(`{
		"version": 1,
		"routes": [{"name": "api", "match": {"path_prefix": "/api"}, "auth": {"type": "api_key"}}]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	r := doc.Routes[0]
	fmt.Println(doc.DefaultAction, r.Name, r.Auth.Type, r.Limits.MaxBodyBytes)

	_, err = policy.Parse([]byte(`{"version": 1, "routes": [{"name": "api", "auth": {"type": "api_key"}, "limits": {"max_body_bytes": 0}}]}`))
	fmt.Println(err)
	// Output:
	// deny api api_key 10485760
	// routes[0].limits.max_body_bytes: must be positive
}
