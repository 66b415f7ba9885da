package gateway_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/gateway"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// TestClientTimeouts: a client that trickles its headers or its body, or keeps an idle
// connection open, is cut off by the gateway's timeouts (short ones here) instead of holding
// a connection and a handler indefinitely. The trickle runs for up to 10 s; the timeouts are
// a few hundred milliseconds, so only a gateway without them lets it finish.
func TestClientTimeouts(t *testing.T) {
	timeouts := gateway.Timeouts{ReadHeader: 300 * time.Millisecond, Read: 500 * time.Millisecond, Idle: 300 * time.Millisecond}
	var upstreamBodies atomic.Int64
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err == nil && r.ContentLength > 0 {
			upstreamBodies.Add(1)
		}
		w.Write([]byte("ok"))
	})
	e := startTimeouts(t, "noop.wasm", wasmhost.Options{}, upstream, gateway.Config{}, timeouts)
	tests := []struct {
		name string
		// head is sent at once; then trickle is sent one byte every 10 ms.
		head, trickle string
		// want is the status the client reads; 0 means no response, or a 4xx one, then the
		// connection closed (Go's server answers a header timeout with 400 or nothing).
		want int
	}{
		{"slow headers", "GET / HTTP/1.1\r\n", strings.Repeat("x", 1000), 0},
		{"slow body", "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n", strings.Repeat("x", 1000), http.StatusRequestTimeout},
		{"slow chunked body", "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", strings.Repeat("1\r\nx\r\n", 1000), http.StatusRequestTimeout},
		{"idle keep-alive", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, tt.head); err != nil {
				t.Fatal(err)
			}
			go func() {
				for i := 0; i < len(tt.trickle); i++ {
					time.Sleep(10 * time.Millisecond)
					if _, err := conn.Write([]byte{tt.trickle[i]}); err != nil {
						return // cut off
					}
				}
			}()
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("the gateway held the connection: %v", err)
			}
			if tt.want == 0 && err != nil {
				return // closed without a response
			}
			if err != nil {
				t.Fatalf("reading the response: %v", err)
			}
			io.ReadAll(resp.Body)
			resp.Body.Close()
			if tt.want == 0 && resp.StatusCode/100 != 4 || tt.want != 0 && resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusRequestTimeout && !resp.Close {
				t.Fatalf("408 without Connection: close")
			}
			// Whatever was answered, the connection is closed next, not held.
			if _, err := br.ReadByte(); err == nil {
				t.Fatalf("more bytes after the response")
			} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("the gateway held the connection open: %v", err)
			}
		})
	}
	if n := upstreamBodies.Load(); n != 0 {
		t.Fatalf("the upstream received %d complete trickled bodies", n)
	}
}
