package main

import (
	"sort"
	"strconv"
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/properties"
)

// props reads the properties with the SDK's own decoders, so the test proves the host encodes
// them the way Envoy does (strings raw, ports and ids as 8-byte little-endian integers, maps in
// the pairs format).
func props() string {
	var lines []string
	str := func(name string, f func() (string, error)) {
		v, err := f()
		lines = append(lines, name+"="+orErr(v, err))
	}
	num := func(name string, f func() (uint64, error)) {
		v, err := f()
		lines = append(lines, name+"="+orErr(strconv.FormatUint(v, 10), err))
	}
	str("source.address", properties.GetDownstreamRemoteAddress)
	num("source.port", properties.GetDownstreamRemotePort)
	str("destination.address", properties.GetDownstreamLocalAddress)
	num("destination.port", properties.GetDownstreamLocalPort)
	num("connection.id", properties.GetDownstreamConnectionID)
	str("request.path", properties.GetRequestPath)
	str("request.url_path", properties.GetRequestUrlPath)
	str("request.host", properties.GetRequestHost)
	str("request.method", properties.GetRequestMethod)
	str("request.scheme", properties.GetRequestScheme)
	str("request.id", properties.GetRequestId)
	str("request.protocol", properties.GetRequestProtocol)
	str("request.query", properties.GetRequestQuery)
	str("plugin_name", properties.GetPluginName)
	str("plugin_root_id", properties.GetPluginRootId)
	str("plugin_vm_id", properties.GetPluginVmId)
	if t, err := properties.GetRequestTime(); err == nil {
		lines = append(lines, "request.time="+strconv.FormatInt(t.UnixNano(), 10))
	} else {
		lines = append(lines, "request.time=err:"+errName(err))
	}
	if h, err := properties.GetRequestHeaders(); err == nil {
		keys := make([]string, 0, len(h))
		for k := range h {
			keys = append(keys, k+":"+h[k])
		}
		sort.Strings(keys)
		lines = append(lines, "request.headers="+strings.Join(keys, ","))
	} else {
		lines = append(lines, "request.headers=err:"+errName(err))
	}
	return strings.Join(lines, "\n")
}

func orErr(v string, err error) string {
	if err != nil {
		return "err:" + errName(err)
	}
	return v
}
