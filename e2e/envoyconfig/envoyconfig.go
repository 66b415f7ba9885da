// Package envoyconfig checks an Envoy v3 bootstrap (the repository's envoy.yaml) as far as that
// is possible without an Envoy binary: strict decoding against Envoy's own protos, the
// protoc-gen-validate rules of every message including those packed in a typed_config, deprecated
// fields, cluster references, and the Portcullis plugin configuration inside the Wasm filter.
//
// # Notes
//
// The protos are those of the go-control-plane version in go.mod, which is newer than the oldest
// Envoy we support (1.33): a field added after 1.33 passes here and fails in that Envoy.
package envoyconfig

import (
	"errors"
	"fmt"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"

	// The typed_config types envoy.yaml and envoy-control.yaml use. protojson resolves an Any's @type through the
	// global registry, so a type must be linked in to be decoded; an unknown @type is an error.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	_ "google.golang.org/protobuf/types/known/wrapperspb"
)

// Load checks an envoy.yaml that runs Portcullis: Decode, Validate, Plugins, and at least one
// Portcullis filter must exist (without one, Envoy would pass every request unchecked). The
// error reports every problem found.
func Load(yamlDoc []byte) (*bootstrapv3.Bootstrap, []Plugin, error) {
	b, err := Decode(yamlDoc)
	if err != nil {
		return nil, nil, err
	}
	verr := Validate(b)
	plugins, perr := Plugins(b)
	if perr == nil && len(plugins) == 0 {
		perr = fmt.Errorf("no Wasm HTTP filter with root_id %q: Envoy would pass every request unchecked", RootID)
	}
	if err := errors.Join(verr, perr); err != nil {
		return nil, nil, err
	}
	return b, plugins, nil
}

// Decode converts a YAML bootstrap to JSON and decodes it as Envoy does, strictly: unknown
// fields, unknown enum values and a typed_config whose @type is not linked in are errors.
func Decode(yamlDoc []byte) (*bootstrapv3.Bootstrap, error) {
	js, err := yamlToJSON(yamlDoc)
	if err != nil {
		return nil, err
	}
	b := &bootstrapv3.Bootstrap{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(js, b); err != nil {
		return nil, fmt.Errorf("decode bootstrap (positions are in its JSON form): %w", err)
	}
	return b, nil
}

// Validate runs the protoc-gen-validate rules on b and, because those rules do not look inside
// a google.protobuf.Any, on every message packed in a typed_config (or any other Any), at any
// depth. It also rejects deprecated fields and enum values, unknown fields, duplicate cluster
// names and routes to a cluster that is not defined. Every problem is reported, each with its
// path in the document.
func Validate(b *bootstrapv3.Bootstrap) error {
	var errs []error
	if err := b.ValidateAll(); err != nil {
		errs = append(errs, fmt.Errorf("bootstrap: %w", err))
	}
	w := walker{}
	w.message(b.ProtoReflect(), "")
	errs = append(errs, w.errs...)
	errs = append(errs, checkClusterRefs(b)...)
	return errors.Join(errs...)
}

// walker visits every populated field of a message tree, unpacking Any values.
type walker struct{ errs []error }

func (w *walker) errorf(format string, args ...any) {
	w.errs = append(w.errs, fmt.Errorf(format, args...))
}

func (w *walker) message(m protoreflect.Message, path string) {
	if len(m.GetUnknown()) > 0 {
		w.errorf("%s: unknown fields in %s", orRoot(path), m.Descriptor().FullName())
	}
	if a, ok := m.Interface().(*anypb.Any); ok {
		w.unpack(a, path)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		p := join(path, string(fd.Name()))
		if fd.Options().(*descriptorpb.FieldOptions).GetDeprecated() {
			w.errorf("%s: deprecated field", p)
		}
		switch {
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				w.value(fd, l.Get(i), fmt.Sprintf("%s[%d]", p, i))
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				w.value(fd.MapValue(), mv, fmt.Sprintf("%s[%v]", p, k))
				return true
			})
		default:
			w.value(fd, v, p)
		}
		return true
	})
}

func (w *walker) value(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string) {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		ev := fd.Enum().Values().ByNumber(v.Enum())
		if ev != nil && ev.Options().(*descriptorpb.EnumValueOptions).GetDeprecated() {
			w.errorf("%s: deprecated value %s", path, ev.Name())
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		w.message(v.Message(), path)
	}
}

// unpack unpacks a and validates the message inside: PGV's ValidateAll on the outer message stops
// at the Any.
func (w *walker) unpack(a *anypb.Any, path string) {
	inner, err := a.UnmarshalNew()
	if err != nil {
		w.errorf("%s: %v", path, err)
		return
	}
	name := inner.ProtoReflect().Descriptor().FullName()
	path = fmt.Sprintf("%s<%s>", path, name)
	if v, ok := inner.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			w.errorf("%s: %w", path, err)
		}
	}
	w.message(inner.ProtoReflect(), path)
}

// checkClusterRefs does what Envoy does for a static route configuration: every route must name
// a defined cluster, and cluster names must be unique.
func checkClusterRefs(b *bootstrapv3.Bootstrap) []error {
	var errs []error
	clusters := map[string]bool{}
	for i, c := range b.GetStaticResources().GetClusters() {
		if clusters[c.GetName()] {
			errs = append(errs, fmt.Errorf("static_resources.clusters[%d]: duplicate cluster name %q", i, c.GetName()))
		}
		clusters[c.GetName()] = true
	}
	for _, h := range connectionManagers(b) {
		for _, vh := range h.hcm.GetRouteConfig().GetVirtualHosts() {
			for _, r := range vh.GetRoutes() {
				for _, name := range routeClusters(r) {
					if !clusters[name] {
						errs = append(errs, fmt.Errorf("%s: virtual host %q: route to unknown cluster %q", h.path, vh.GetName(), name))
					}
				}
			}
		}
	}
	return errs
}

func routeClusters(r *routev3.Route) []string {
	a := r.GetRoute()
	if a == nil {
		return nil
	}
	if c := a.GetCluster(); c != "" {
		return []string{c}
	}
	var names []string
	for _, wc := range a.GetWeightedClusters().GetClusters() {
		names = append(names, wc.GetName())
	}
	return names
}

// connectionManager is an HTTP connection manager found in a static listener.
type connectionManager struct {
	path string
	hcm  *hcmv3.HttpConnectionManager
}

// connectionManagers returns the HTTP connection managers of b's static listeners. Those that
// do not unpack are skipped: Validate reports them.
func connectionManagers(b *bootstrapv3.Bootstrap) []connectionManager {
	var out []connectionManager
	for li, l := range b.GetStaticResources().GetListeners() {
		for ci, fc := range l.GetFilterChains() {
			for fi, f := range fc.GetFilters() {
				hcm := &hcmv3.HttpConnectionManager{}
				if f.GetTypedConfig().MessageIs(hcm) && f.GetTypedConfig().UnmarshalTo(hcm) == nil {
					out = append(out, connectionManager{
						path: fmt.Sprintf("static_resources.listeners[%d].filter_chains[%d].filters[%d].typed_config<%s>",
							li, ci, fi, hcm.ProtoReflect().Descriptor().FullName()),
						hcm: hcm,
					})
				}
			}
		}
	}
	return out
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func orRoot(path string) string {
	if path == "" {
		return "(root)"
	}
	return path
}
