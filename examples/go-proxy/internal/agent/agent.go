// Package agent is the stand-in workspace agent that runs in each container:
// it answers A2A requests, registers its URL with the proxy when it starts,
// heartbeats every interval, and can be told to fail requests or to exit.
package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Config is the agent's configuration (flags or LC_* environment variables).
type Config struct {
	// WS is the workspace id.
	WS string
	// Addr is where the agent listens (127.0.0.1:PORT under host
	// networking).
	Addr string
	// Proxy is the proxy's base URL, for registration and heartbeats.
	Proxy string
	// Heartbeat is the heartbeat interval (upstream: 30 s).
	Heartbeat time.Duration
	// BootDelay is how long the agent takes to boot before it listens and
	// registers (upstream's Python adapter: about 1-2 s).
	BootDelay time.Duration
	// ConfigText is the configuration the platform gave this container (the
	// body of the last config PUT), echoed in answers.
	ConfigText string
	// Exit ends the process (os.Exit in the real binary).
	Exit func(code int)
	// Logf logs (log.Printf when nil).
	Logf func(format string, args ...interface{})
}

// Agent is one running agent.
type Agent struct {
	cfg     Config
	client  *http.Client
	started time.Time

	mu       sync.Mutex
	failMode string
	served   int
	beats    int
	url      string
}

// New returns an agent; Run starts it.
func New(cfg Config) *Agent {
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	return &Agent{cfg: cfg, client: &http.Client{Timeout: 5 * time.Second}, started: time.Now()}
}

// Handler serves the agent's endpoints:
//
//	POST /a2a                       an A2A request: {"jsonrpc":"2.0","result":{...}}
//	POST /control/fail?mode=M       M = off | 500 (answer 500) | close (drop the connection)
//	POST /control/exit?code=N       answer, then exit with code N (a crash when N != 0)
//	GET  /healthz                   200 with counters
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/a2a", a.a2a)
	mux.HandleFunc("/control/fail", a.fail)
	mux.HandleFunc("/control/exit", a.exit)
	mux.HandleFunc("/healthz", a.health)
	return mux
}

func (a *Agent) a2a(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	a.mu.Lock()
	mode := a.failMode
	a.served++
	n := a.served
	a.mu.Unlock()
	switch mode {
	case "500":
		http.Error(w, `{"error":"agent failing on purpose"}`, http.StatusInternalServerError)
		return
	case "close":
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		http.Error(w, "cannot drop the connection", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]interface{}{
		"jsonrpc": "2.0",
		"result": map[string]interface{}{
			"text":      "pong",
			"workspace": a.cfg.WS,
			"served":    n,
			"config":    a.cfg.ConfigText,
		},
	})
}

func (a *Agent) fail(w http.ResponseWriter, r *http.Request) {
	mode := r.URL.Query().Get("mode")
	switch mode {
	case "off", "":
		mode = ""
	case "500", "close":
	default:
		http.Error(w, "mode must be off, 500 or close", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	a.failMode = mode
	a.mu.Unlock()
	fmt.Fprintf(w, "fail mode %q\n", mode)
}

func (a *Agent) exit(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.URL.Query().Get("code"))
	if err != nil {
		http.Error(w, "code must be an integer", http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "exiting with %d\n", code)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		a.cfg.Exit(code)
	}()
}

func (a *Agent) health(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]interface{}{
		"workspace": a.cfg.WS, "served": a.served, "heartbeats": a.beats,
		"fail_mode": a.failMode, "uptime_ms": time.Since(a.started).Milliseconds(),
	})
}

func (a *Agent) post(ctx context.Context, path string, body interface{}) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.Proxy+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: HTTP %d", path, resp.StatusCode)
	}
	return nil
}

// Run boots (BootDelay), listens, registers with the proxy (retrying every
// 200 ms until it answers), then heartbeats every interval until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	if a.cfg.BootDelay > 0 {
		select {
		case <-time.After(a.cfg.BootDelay):
		case <-ctx.Done():
			return nil
		}
	}
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.url = "http://" + ln.Addr().String()
	a.mu.Unlock()
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go a.heartbeats(ctx)
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		return err
	}
	return nil
}

// URL is where the agent serves (set once it listens).
func (a *Agent) URL() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.url
}

func (a *Agent) heartbeats(ctx context.Context) {
	reg := map[string]string{"workspace_id": a.cfg.WS, "url": a.URL()}
	for {
		err := a.post(ctx, "/registry/register", reg)
		if err == nil {
			break
		}
		a.cfg.Logf("agent %s: register: %v (retrying)", a.cfg.WS, err)
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return
		}
	}
	a.cfg.Logf("agent %s: registered %s", a.cfg.WS, a.URL())
	tick := time.NewTicker(a.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if err := a.post(ctx, "/registry/heartbeat", map[string]string{"workspace_id": a.cfg.WS}); err != nil {
				a.cfg.Logf("agent %s: heartbeat: %v", a.cfg.WS, err)
				continue
			}
			a.mu.Lock()
			a.beats++
			a.mu.Unlock()
		case <-ctx.Done():
			return
		}
	}
}
