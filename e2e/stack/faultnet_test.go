package stack_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// cutter is a TCP proxy in front of a server (the control server, PostgreSQL) that a test
// can cut or silence, for what clients see when that server dies, restarts or hangs.
type cutter struct {
	target, addr string

	mu     sync.Mutex
	ln     net.Listener // nil while cut
	hung   bool
	pipes  map[*pipe]bool
	silent map[net.Conn]bool // accepted while hung, never answered
}

type pipe struct {
	client, server net.Conn
	frozen         bool // hung: the server side is gone, the client is left waiting
}

func newCutter(t testing.TB, target string) *cutter {
	t.Helper()
	c := &cutter{target: target, pipes: map[*pipe]bool{}, silent: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.addr, c.ln = ln.Addr().String(), ln
	go c.accept(ln)
	t.Cleanup(c.cut)
	return c
}

func (c *cutter) accept(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		if c.hung {
			c.silent[conn] = true
			c.mu.Unlock()
			go io.Copy(io.Discard, conn) // read the request, answer nothing
			continue
		}
		c.mu.Unlock()
		server, err := net.Dial("tcp", c.target)
		if err != nil {
			conn.Close()
			continue
		}
		// Cut or hung while dialing: this connection is one of those it meant.
		c.mu.Lock()
		switch {
		case c.ln != ln:
			c.mu.Unlock()
			server.Close()
			reset(conn)
			continue
		case c.hung:
			c.silent[conn] = true
			c.mu.Unlock()
			server.Close()
			go io.Copy(io.Discard, conn)
			continue
		}
		p := &pipe{client: conn, server: server}
		c.pipes[p] = true
		c.mu.Unlock()
		go c.forward(p)
	}
}

func (c *cutter) forward(p *pipe) {
	go func() {
		io.Copy(p.client, p.server)
		c.mu.Lock()
		frozen := p.frozen
		c.mu.Unlock()
		if !frozen {
			p.client.Close()
		}
	}()
	io.Copy(p.server, p.client)
	c.mu.Lock()
	frozen := p.frozen
	c.mu.Unlock()
	if frozen {
		io.Copy(io.Discard, p.client) // until the client gives up
	}
	p.client.Close()
	p.server.Close()
	c.mu.Lock()
	delete(c.pipes, p)
	c.mu.Unlock()
}

// cut resets every connection and refuses new ones until restore: what clients see of a
// server process that was killed.
func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln != nil {
		c.ln.Close()
		c.ln = nil
	}
	for p := range c.pipes {
		reset(p.client)
		p.server.Close()
	}
	for conn := range c.silent {
		reset(conn)
	}
	c.silent = map[net.Conn]bool{}
}

// hang keeps every connection open and answers nothing more, on them or on new ones: a server
// that accepts and never answers.
func (c *cutter) hang() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hung = true
	for p := range c.pipes {
		p.frozen = true
		p.server.Close()
	}
}

// restore forwards again, on the same address.
func (c *cutter) restore(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hung = false
	for conn := range c.silent {
		conn.Close()
	}
	c.silent = map[net.Conn]bool{}
	if c.ln == nil {
		ln, err := net.Listen("tcp", c.addr)
		if err != nil {
			t.Fatalf("listening on %s again: %v", c.addr, err)
		}
		c.ln = ln
		go c.accept(ln)
	}
}

// reset closes a connection with RST, as the kernel does for a process that died mid-request.
func reset(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// snapFault is an HTTP proxy between the filter and the control server that damages the
// answers to polls in one of several ways.
type snapFault struct {
	mu   sync.Mutex
	mode string
}

const (
	slow     = "slow"     // every answer held back by slowBy, then sent whole
	trickle  = "trickle"  // snapshots: headers at once, then one body byte every 100 ms
	truncate = "truncate" // snapshots: the first half of the body, its length declared
	cutBody  = "cut-body" // snapshots: the full length declared, half sent, connection closed
	oversize = "oversize" // snapshots: a signed header and a body past the 64 MiB limit
	slowBy   = 1500 * time.Millisecond
)

func (s *snapFault) set(mode string) {
	s.mu.Lock()
	s.mode = mode
	s.mu.Unlock()
}

func (s *snapFault) handler(target string) http.Handler {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		// The mode when the answer is ready, not when the poll arrived: polls are held.
		s.mu.Lock()
		mode := s.mode
		s.mu.Unlock()
		body := rec.Body.Bytes()
		for name, values := range rec.Header() {
			w.Header()[name] = values
		}
		if mode == slow {
			time.Sleep(slowBy)
		}
		if rec.Code != http.StatusOK || mode == "" || mode == slow {
			w.WriteHeader(rec.Code)
			w.Write(body)
			return
		}
		flusher := w.(http.Flusher)
		switch mode {
		case trickle:
			w.WriteHeader(rec.Code)
			for i := range body {
				w.Write(body[i : i+1])
				flusher.Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		case truncate:
			body = body[:len(body)/2]
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.Code)
			w.Write(body)
		case cutBody:
			w.WriteHeader(rec.Code)
			w.Write(body[:len(body)/2])
			flusher.Flush()
			panic(http.ErrAbortHandler) // closes the connection mid-body
		case oversize:
			const size = 64<<20 + 1
			w.Header().Set("Content-Length", strconv.Itoa(size))
			w.WriteHeader(rec.Code)
			chunk := bytes.Repeat([]byte{' '}, 64<<10)
			for sent := 0; sent < size; sent += len(chunk) {
				if _, err := w.Write(chunk[:min(len(chunk), size-sent)]); err != nil {
					return
				}
			}
		}
	})
}
