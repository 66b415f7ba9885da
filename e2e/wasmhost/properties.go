package wasmhost

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// Properties as Envoy's proxy_get_property encodes them: the path is NUL-separated segments;
// strings are raw bytes, integers 8-byte little-endian (int64 for ports and codes, uint64 for
// connection.id), timestamps int64 nanoseconds since the epoch, booleans one byte, maps the
// pairs serialization. A value that does not exist is NotFound.

func hostGetProperty(v *vm, s []uint64) status {
	raw, ok := v.view(u32(s, 0), u32(s, 1))
	if !ok {
		return statusInvalidMemoryAccess
	}
	path := strings.Split(string(raw), "\x00")
	value, found := v.property(v.frame.currentStream(), path)
	if !found {
		return statusNotFound
	}
	return v.copyOut(value, u32(s, 2), u32(s, 3))
}

// hostSetProperty stores a value on the stream (Envoy keeps it in the stream's filter state), so
// a later proxy_get_property of the same path returns it. The root context has no stream: like
// Envoy without stream info, that is NotFound.
func hostSetProperty(v *vm, s []uint64) status {
	raw, ok1 := v.view(u32(s, 0), u32(s, 1))
	value, ok2 := v.view(u32(s, 2), u32(s, 3))
	if !ok1 || !ok2 {
		return statusInvalidMemoryAccess
	}
	st := v.frame.currentStream()
	if st == nil {
		return statusNotFound
	}
	if st.properties == nil {
		st.properties = map[string][]byte{}
	}
	if len(st.properties) >= 1024 {
		return statusInternalFailure
	}
	st.properties[string(raw)] = append([]byte(nil), value...)
	return statusOK
}

// property resolves a path: the Options.Properties hook first, then values the filter set,
// then the built-in attributes.
func (v *vm) property(s *Stream, path []string) ([]byte, bool) {
	o := &v.host.opts
	if o.Properties != nil {
		var info *StreamInfo
		if s != nil {
			info = &s.info
		}
		if value, ok := o.Properties(info, path); ok {
			return value, true
		}
	}
	if s != nil && s.properties != nil {
		if value, ok := s.properties[strings.Join(path, "\x00")]; ok {
			return value, true
		}
	}
	key := strings.Join(path, ".")
	switch key {
	case "plugin_name":
		return []byte(o.PluginName), true
	case "plugin_root_id":
		return []byte(o.RootID), true
	case "plugin_vm_id":
		return []byte(o.VMID), true
	}
	if s == nil {
		return nil, false
	}
	return s.property(key)
}

// property returns the stream attributes.
func (s *Stream) property(key string) ([]byte, bool) {
	req := s.req.headers
	header := func(name string) ([]byte, bool) {
		value, ok := req.get(name)
		return []byte(value), ok
	}
	path, _ := req.get(":path")
	switch key {
	case "source.address":
		return addrString(s.info.Source.String(), s.info.Source.IsValid())
	case "source.port":
		return int64Bytes(int64(s.info.Source.Port())), s.info.Source.IsValid()
	case "destination.address":
		return addrString(s.info.Destination.String(), s.info.Destination.IsValid())
	case "destination.port":
		return int64Bytes(int64(s.info.Destination.Port())), s.info.Destination.IsValid()
	case "connection.id":
		return int64Bytes(int64(s.info.ConnectionID)), true
	case "connection.mtls":
		return []byte{0}, true
	case "request.path":
		return header(":path")
	case "request.url_path":
		p, _, _ := strings.Cut(path, "?")
		return []byte(p), s.req.headersIn
	case "request.query":
		_, q, _ := strings.Cut(path, "?")
		return []byte(q), s.req.headersIn
	case "request.host":
		return header(":authority")
	case "request.method":
		return header(":method")
	case "request.scheme":
		return header(":scheme")
	case "request.id":
		return header("x-request-id")
	case "request.referer":
		return header("referer")
	case "request.useragent":
		return header("user-agent")
	case "request.protocol":
		if s.info.Protocol == "" {
			return []byte("HTTP/1.1"), true
		}
		return []byte(s.info.Protocol), true
	case "request.time":
		return int64Bytes(s.start.UnixNano()), true
	case "request.duration":
		return int64Bytes(int64(s.host.opts.Clock.Now().Sub(s.start))), true
	case "request.size":
		if cl, ok := req.get("content-length"); ok {
			if n, err := strconv.ParseInt(cl, 10, 64); err == nil {
				return int64Bytes(n), true
			}
		}
		return int64Bytes(s.req.received), s.req.headersIn
	case "request.headers":
		return mapBytes(req), s.req.headersIn
	case "response.code":
		code, ok := s.resp.headers.get(":status")
		n, err := strconv.ParseInt(code, 10, 64)
		return int64Bytes(n), ok && err == nil
	case "response.headers":
		return mapBytes(s.resp.headers), s.resp.headersIn
	case "response.code_details":
		if s.local != nil {
			return []byte(s.local.Details), true
		}
		return []byte("via_upstream"), s.resp.headersIn
	}
	return nil, false
}

func addrString(s string, ok bool) ([]byte, bool) { return []byte(s), ok }

func int64Bytes(n int64) []byte { return binary.LittleEndian.AppendUint64(nil, uint64(n)) }

// mapBytes serializes a header map as Envoy serializes a CEL map of headers: one entry per
// name, repeated values joined with commas, pseudo-headers left out.
func mapBytes(m headerMap) []byte {
	var pairs [][2]string
	index := map[string]int{}
	for _, kv := range m {
		if strings.HasPrefix(kv[0], ":") {
			continue
		}
		if i, ok := index[kv[0]]; ok {
			pairs[i][1] += "," + kv[1]
			continue
		}
		index[kv[0]] = len(pairs)
		pairs = append(pairs, kv)
	}
	return appendPairs(nil, pairs)
}
