package wasmhost

// Header maps and buffers. Which map or buffer exists depends on the callback, as in Envoy:
// a stream's request headers are there from proxy_on_request_headers until the filter lets them
// go (continue), and read-only in proxy_on_log; the http_call response only inside
// proxy_on_http_call_response; the plugin configuration only inside proxy_on_configure.

// headerMapFor returns the map t of the current context, and whether it may be changed. A nil
// map means "not available here".
func (v *vm) headerMapFor(t mapType) (m *headerMap, writable bool) {
	f := v.frame
	if f == nil {
		return nil, false
	}
	switch t {
	case mapHTTPCallHeaders, mapHTTPCallTrailers:
		if f.callResp == nil || f.callResp.failed {
			return nil, false
		}
		if t == mapHTTPCallHeaders {
			return &f.callResp.headers, false
		}
		return &f.callResp.trailers, false
	}
	s := f.stream
	if s == nil {
		return nil, false
	}
	d := &s.req
	if t == mapResponseHeaders || t == mapResponseTrailers {
		d = &s.resp
	}
	switch t {
	case mapRequestHeaders, mapResponseHeaders:
		if f.logPhase && d.headersIn {
			return &d.headers, false
		}
		if d.headersSeen && !d.headersReleased {
			return &d.headers, true
		}
	case mapRequestTrailers, mapResponseTrailers:
		if f.logPhase && d.trailersIn {
			return &d.trailers, false
		}
		if d.trailersSeen && !d.trailersReleased {
			return &d.trailers, true
		}
	}
	return nil, false
}

func validMapType(t mapType) bool { return t <= mapHTTPCallTrailers }

// hostGetHeaderMapValue returns the FIRST value of a repeated header, as Envoy does; a filter
// that must see every value reads the pairs.
func hostGetHeaderMapValue(v *vm, s []uint64) status {
	t := mapType(u32(s, 0))
	if !validMapType(t) {
		return statusBadArgument
	}
	key, ok := v.view(u32(s, 1), u32(s, 2))
	if !ok {
		return statusInvalidMemoryAccess
	}
	m, _ := v.headerMapFor(t)
	if m == nil {
		if v.frame != nil && v.frame.logPhase {
			return statusNotFound // Envoy: maps may be missing in the access-log phase
		}
		return statusBadArgument // not available in this callback
	}
	value, found := m.get(string(key))
	if !found {
		return statusNotFound
	}
	return v.copyOut(stringBytes(value), u32(s, 3), u32(s, 4))
}

// hostGetHeaderMapPairs serializes the whole map; a map that is not available reads as empty.
func hostGetHeaderMapPairs(v *vm, s []uint64) status {
	t := mapType(u32(s, 0))
	if !validMapType(t) {
		return statusBadArgument
	}
	var pairs [][2]string
	if m, _ := v.headerMapFor(t); m != nil {
		pairs = *m
	}
	if len(pairs) == 0 {
		return v.copyOut(nil, u32(s, 1), u32(s, 2))
	}
	v.scratch = appendPairs(v.scratch[:0], pairs)
	return v.copyOut(v.scratch, u32(s, 1), u32(s, 2))
}

func hostGetHeaderMapSize(v *vm, s []uint64) status {
	t := mapType(u32(s, 0))
	if !validMapType(t) {
		return statusBadArgument
	}
	m, _ := v.headerMapFor(t)
	if m == nil {
		return statusBadArgument
	}
	n := 0
	for _, kv := range *m {
		n += len(kv[0]) + len(kv[1])
	}
	if !v.writeU32(u32(s, 1), uint32(n)) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// writableMap returns the map t if the current callback may change it.
func (v *vm) writableMap(t mapType) (*headerMap, status) {
	if !validMapType(t) {
		return nil, statusBadArgument
	}
	m, writable := v.headerMapFor(t)
	if m == nil || !writable {
		return nil, statusBadArgument
	}
	return m, statusOK
}

// readHeader reads a name and value pair of pointers and validates them.
func (v *vm) readHeader(s []uint64, i int) (name, value string, st status) {
	name, ok := v.readString(u32(s, i), u32(s, i+1))
	if !ok {
		return "", "", statusInvalidMemoryAccess
	}
	value, ok = v.readString(u32(s, i+2), u32(s, i+3))
	if !ok {
		return "", "", statusInvalidMemoryAccess
	}
	if !validName(name) || !validValue(value) {
		return "", "", statusBadArgument
	}
	return name, value, statusOK
}

func hostSetHeaderMapPairs(v *vm, s []uint64) status {
	m, st := v.writableMap(mapType(u32(s, 0)))
	if st != statusOK {
		return st
	}
	raw, ok := v.view(u32(s, 1), u32(s, 2))
	if !ok {
		return statusInvalidMemoryAccess
	}
	pairs, ok := parsePairs(raw)
	if !ok {
		return statusBadArgument
	}
	for _, kv := range pairs {
		if !validName(kv[0]) || !validValue(kv[1]) {
			return statusBadArgument
		}
	}
	*m = newHeaderMap(pairs)
	return statusOK
}

func hostAddHeaderMapValue(v *vm, s []uint64) status {
	return v.editHeader(s, headerMap.add)
}

func hostReplaceHeaderMapValue(v *vm, s []uint64) status {
	return v.editHeader(s, headerMap.replace)
}

// editHeader applies edit to the map named by s[0] with the header in s[1:5].
func (v *vm) editHeader(s []uint64, edit func(m headerMap, name, value string) headerMap) status {
	m, st := v.writableMap(mapType(u32(s, 0)))
	if st != statusOK {
		return st
	}
	name, value, st := v.readHeader(s, 1)
	if st != statusOK {
		return st
	}
	*m = edit(*m, name, value)
	return statusOK
}

func hostRemoveHeaderMapValue(v *vm, s []uint64) status {
	m, st := v.writableMap(mapType(u32(s, 0)))
	if st != statusOK {
		return st
	}
	name, ok := v.readString(u32(s, 1), u32(s, 2))
	if !ok {
		return statusInvalidMemoryAccess
	}
	*m = m.remove(name)
	return statusOK
}

// bufferFor returns buffer t of the current context, whether it may be changed, and whether it
// exists. A stream body is there during its body callback and while the filter buffers it.
func (v *vm) bufferFor(t bufferType) (b *[]byte, writable, ok bool) {
	f := v.frame
	if f == nil {
		return nil, false, false
	}
	switch t {
	case bufferRequestBody, bufferResponseBody:
		s := f.stream
		if s == nil {
			return nil, false, true // Envoy hands out an empty buffer outside a stream
		}
		d := &s.req
		if t == bufferResponseBody {
			d = &s.resp
		}
		if f.bodySide == d || d.buffering {
			return &d.body, true, true
		}
		return nil, false, true
	case bufferHTTPCallBody:
		if f.callResp == nil || f.callResp.failed {
			return nil, false, false
		}
		return &f.callResp.body, false, true
	case bufferVMConfiguration:
		return &v.host.opts.VMConfig, false, true
	case bufferPluginConfig:
		if f.configuring {
			return &v.host.opts.PluginConfig, false, true
		}
	}
	return nil, false, false
}

// hostGetBufferBytes copies up to max bytes from start, as Envoy's get_buffer_bytes: a range
// past the end is cut short, an empty result writes nothing.
func hostGetBufferBytes(v *vm, s []uint64) status {
	t, start, length := bufferType(u32(s, 0)), u32(s, 1), u32(s, 2)
	if t > bufferCallData {
		return statusBadArgument
	}
	b, _, ok := v.bufferFor(t)
	if !ok {
		return statusNotFound
	}
	if start > start+length { // overflow
		return statusBadArgument
	}
	var data []byte
	if b != nil {
		data = *b
	}
	if uint64(start) > uint64(len(data)) {
		return statusBadArgument
	}
	end := min(uint64(start)+uint64(length), uint64(len(data)))
	if end == uint64(start) {
		return statusOK
	}
	return v.copyOut(data[start:end], u32(s, 3), u32(s, 4))
}

func hostGetBufferStatus(v *vm, s []uint64) status {
	t := bufferType(u32(s, 0))
	if t > bufferCallData {
		return statusBadArgument
	}
	b, _, ok := v.bufferFor(t)
	if !ok {
		return statusNotFound
	}
	n := 0
	if b != nil {
		n = len(*b)
	}
	if !v.writeU32(u32(s, 1), uint32(n)) || !v.writeU32(u32(s, 2), 0) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// hostSetBufferBytes follows Envoy's Buffer::copyFrom: start 0 and length 0 prepends, start 0
// and a length covering the buffer replaces it, a start at or past the end appends; anything
// else (an edit in the middle) is BadArgument.
func hostSetBufferBytes(v *vm, s []uint64) status {
	t, start, length := bufferType(u32(s, 0)), u32(s, 1), u32(s, 2)
	if t > bufferCallData {
		return statusBadArgument
	}
	b, writable, ok := v.bufferFor(t)
	if !ok {
		return statusNotFound
	}
	if b == nil || !writable {
		return statusBadArgument
	}
	data, ok := v.view(u32(s, 3), u32(s, 4))
	if !ok {
		return statusInvalidMemoryAccess
	}
	cur := *b
	switch {
	case start == 0 && length == 0:
		*b = append(append(make([]byte, 0, len(data)+len(cur)), data...), cur...)
	case start == 0 && uint64(length) >= uint64(len(cur)):
		*b = append(cur[:0], data...)
	case uint64(start) >= uint64(len(cur)):
		*b = append(cur, data...)
	default:
		return statusBadArgument
	}
	return statusOK
}
