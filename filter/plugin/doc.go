// Package plugin is the proxy-wasm adapter of the Portcullis filter: it reads the plugin
// configuration once, compiles the policy, maps each request's callbacks to the decision engine
// in shared/engine, and applies the result through the host.
//
// # Notes
//
// Every callback recovers from panics and turns them into a 500 for that request: an escaped
// panic traps the VM, and Envoy would then fail every request on that worker until a reload.
// Every host error on the request path denies the request; nothing fails open.
package plugin
