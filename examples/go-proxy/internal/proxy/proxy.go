// Package proxy is the A2A reverse proxy: it forwards each workspace's
// requests to that workspace's agent container, and when a forward fails it
// asks the liveness decision (decide.Liveness) whether the container is
// dead. It is the decision's Platform: it probes containers through the
// Docker Engine API and runs restart cycles there.
//
// What it keeps per workspace mirrors upstream (reference
// upstream-liveness.md, "What a declaration really leaves behind"):
//
//   - cacheURL is the Redis URL cache (ws:{id}:url): set when the agent
//     registers, deleted by a declaration of death, untouched by a restart
//     cycle;
//   - dbURL is the workspaces.url column: set when the agent registers,
//     blanked by a restart cycle, never by a declaration;
//   - a request is forwarded to cacheURL, else dbURL; with neither it is
//     answered 503 "workspace has no URL" and no decision runs.
package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"livecheck.local/goproxy/internal/decide"
	"livecheck.local/goproxy/internal/docker"
)

// Docker is the part of the Docker client the proxy uses (a fake in tests).
type Docker interface {
	Inspect(ctx context.Context, name string) (docker.Container, error)
	Create(ctx context.Context, name string, s docker.Spec) (string, error)
	Start(ctx context.Context, name string) error
	Remove(ctx context.Context, name string, force bool) error
	Events(ctx context.Context, label string) (<-chan docker.Event, error)
}

// Config configures the proxy and the agent containers it creates.
type Config struct {
	// Image is the agent image.
	Image string
	// ProxyURL is the proxy's base URL as agents reach it.
	ProxyURL string
	// Heartbeat is the agents' heartbeat interval.
	Heartbeat time.Duration
	// BootDelay is the agents' boot time before they listen and register.
	BootDelay time.Duration
	// NamePrefix prefixes container names: NamePrefix + workspace id.
	NamePrefix string
	// Label is the label key every agent container carries (value: the
	// workspace id); the proxy follows Docker's events for it.
	Label string
	// RestartPolicy is the containers' Docker restart policy (upstream:
	// unless-stopped).
	RestartPolicy string
	// ProbeLatency is added before every IsRunning call: it stands in for a
	// busy daemon (upstream saw inspect calls time out under load). Zero
	// normally.
	ProbeLatency time.Duration
	// ProbeTimeout bounds one inspect call; past it the probe is an error.
	ProbeTimeout time.Duration
	// ForwardTimeout bounds one forward to an agent.
	ForwardTimeout time.Duration
	// Logf logs (log.Printf when nil).
	Logf func(format string, args ...interface{})
}

// Server is the proxy.
type Server struct {
	cfg  Config
	dk   Docker
	live decide.Liveness
	rp   *httputil.ReverseProxy
	seq  int64

	mu  sync.Mutex
	wss map[string]*workspace
	// removed are the container ids the proxy itself removed: their "die"
	// event is the cycle's doing, not a crash.
	removed map[string]bool
}

type workspace struct {
	id       string
	port     int
	config   string
	cacheURL string
	dbURL    string
	status   string
	// containerID is the container the last provision created.
	containerID string
	// Counters and the last cycle's timings, for /admin.
	declared   int
	cycles     int
	lastCycle  CycleTiming
	forwards   int
	failed     int
	noURL      int
	containers int
	// probes and probesNotRunning count IsRunning calls and their
	// (false, nil) answers.
	probes           int
	probesNotRunning int
}

// CycleTiming is how long the steps of one restart cycle took.
type CycleTiming struct {
	RemoveMs int64  `json:"remove_ms"`
	CreateMs int64  `json:"create_ms"`
	StartMs  int64  `json:"start_ms"`
	TotalMs  int64  `json:"total_ms"`
	Err      string `json:"error,omitempty"`
}

type ctxKey int

const (
	keyWS ctxKey = iota
	keyTarget
)

// New returns a proxy over the Docker daemon dk. Call SetLiveness before
// serving (the Liveness needs the Server as its Platform, so it is built
// after it).
func New(cfg Config, dk Docker) *Server {
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	if cfg.ProbeTimeout == 0 {
		cfg.ProbeTimeout = 5 * time.Second
	}
	if cfg.ForwardTimeout == 0 {
		cfg.ForwardTimeout = 10 * time.Second
	}
	s := &Server{cfg: cfg, dk: dk, wss: make(map[string]*workspace), removed: make(map[string]bool)}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		ResponseHeaderTimeout: cfg.ForwardTimeout,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       30 * time.Second,
	}
	s.rp = &httputil.ReverseProxy{
		Director: func(r *http.Request) {
			target := r.Context().Value(keyTarget).(*url.URL)
			r.URL.Scheme = target.Scheme
			r.URL.Host = target.Host
			r.URL.Path = "/a2a"
			r.Host = target.Host
		},
		Transport: tr,
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode >= 500 {
				// Upstream's upstream-5xx path runs the decision too.
				return fmt.Errorf("agent answered HTTP %d", resp.StatusCode)
			}
			return nil
		},
		ErrorHandler: s.forwardFailed,
		ErrorLog:     log.New(io.Discard, "", 0),
	}
	return s
}

// SetLiveness sets the decision.
func (s *Server) SetLiveness(l decide.Liveness) { s.live = l }

// ContainerName is the workspace's container name.
func (s *Server) ContainerName(ws string) string { return s.cfg.NamePrefix + ws }

// Handler serves:
//
//	POST   /workspaces/{ws}/a2a        forwarded to the workspace's agent
//	PUT    /workspaces/{ws}/config     store the config, restart (RestartByID, file write)
//	POST   /registry/register          {"workspace_id","url"}: the agent registers
//	POST   /registry/heartbeat         {"workspace_id"}: the agent heartbeats
//	POST   /admin/workspaces/{ws}      {"port","config"}: provision the container
//	GET    /admin/workspaces/{ws}      the workspace's state
//	DELETE /admin/workspaces/{ws}      remove the container
//	GET    /admin/clock                the decision clock (t_ms of the logs)
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/workspaces/", s.workspaces)
	mux.HandleFunc("/registry/register", s.register)
	mux.HandleFunc("/registry/heartbeat", s.heartbeat)
	mux.HandleFunc("/admin/workspaces/", s.admin)
	mux.HandleFunc("/admin/clock", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]interface{}{"t_ms": s.live.NowMs(), "policy": s.live.Policy()})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// split parses /prefix/{ws}/{rest}.
func split(path, prefix string) (ws, rest string) {
	p := strings.TrimPrefix(path, prefix)
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return p, ""
}

func (s *Server) workspaces(w http.ResponseWriter, r *http.Request) {
	ws, rest := split(r.URL.Path, "/workspaces/")
	switch {
	case rest == "a2a" && r.Method == http.MethodPost:
		s.forward(w, r, ws)
	case rest == "config" && r.Method == http.MethodPut:
		s.configPut(w, r, ws)
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func (s *Server) forward(w http.ResponseWriter, r *http.Request, ws string) {
	s.mu.Lock()
	wsp, ok := s.wss[ws]
	var target string
	if ok {
		target = wsp.cacheURL
		if target == "" {
			target = wsp.dbURL
		}
		wsp.forwards++
		if target == "" {
			wsp.noURL++
		}
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown workspace"})
		return
	}
	if target == "" {
		// Upstream: 503 "workspace has no URL", and no decision runs.
		w.Header().Set("X-Livecheck-Decision", "none no_url")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "workspace has no URL"})
		return
	}
	u, err := url.Parse(target)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "bad agent URL"})
		return
	}
	ctx := context.WithValue(context.WithValue(r.Context(), keyWS, ws), keyTarget, u)
	s.rp.ServeHTTP(w, r.WithContext(ctx))
}

// forwardFailed is the reverse proxy's error path: a transport error or an
// agent 5xx. It runs the liveness decision on this goroutine, as upstream
// does, and answers from its verdict.
func (s *Server) forwardFailed(w http.ResponseWriter, r *http.Request, ferr error) {
	ws := r.Context().Value(keyWS).(string)
	req := fmt.Sprintf("r%d", atomic.AddInt64(&s.seq, 1))
	s.mu.Lock()
	if wsp, ok := s.wss[ws]; ok {
		wsp.failed++
	}
	s.mu.Unlock()
	// The decision outlives the caller's connection: its probes use their
	// own context.
	v := s.live.FailedRequest(context.Background(), ws, req)
	w.Header().Set("X-Livecheck-Decision", v.Outcome+" "+v.Reason+" "+req)
	switch v.Outcome {
	case "dead":
		w.Header().Set("Retry-After", "15")
		writeJSON(w, http.StatusServiceUnavailable, map[string]interface{}{
			"error": "workspace agent unreachable", "restarting": true, "req": req, "t_ms": v.TMs,
		})
	case "queued":
		writeJSON(w, http.StatusAccepted, map[string]interface{}{"queued": true, "req": req, "t_ms": v.TMs})
	default:
		writeJSON(w, http.StatusBadGateway, map[string]interface{}{
			"error": "agent unreachable: " + ferr.Error(), "decision": v.Outcome, "reason": v.Reason, "req": req, "t_ms": v.TMs,
		})
	}
}

func (s *Server) configPut(w http.ResponseWriter, r *http.Request, ws string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	wsp, ok := s.wss[ws]
	if ok {
		wsp.config = string(body)
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown workspace"})
		return
	}
	o := s.live.RequestRestart(ws, decide.FileWrite)
	s.cfg.Logf("config PUT %s: restart %s", ws, o)
	writeJSON(w, http.StatusAccepted, map[string]interface{}{"restart": o, "t_ms": s.live.NowMs()})
}

type registration struct {
	WorkspaceID string `json:"workspace_id"`
	URL         string `json:"url"`
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var reg registration
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&reg) != nil || reg.URL == "" {
		http.Error(w, "POST {\"workspace_id\",\"url\"}", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	wsp, ok := s.wss[reg.WorkspaceID]
	if ok {
		wsp.cacheURL, wsp.dbURL, wsp.status = reg.URL, reg.URL, "online"
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown workspace"})
		return
	}
	s.live.Register(reg.WorkspaceID)
	writeJSON(w, http.StatusOK, map[string]string{"status": "online"})
}

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	var reg registration
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&reg) != nil {
		http.Error(w, "POST {\"workspace_id\"}", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	wsp, ok := s.wss[reg.WorkspaceID]
	if ok && wsp.status == "offline" {
		// Upstream: every heartbeat flips offline -> online (the URL caches
		// stay as the declaration left them).
		wsp.status = "online"
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown workspace"})
		return
	}
	s.live.Heartbeat(reg.WorkspaceID)
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type provisionReq struct {
	Port   int    `json:"port"`
	Config string `json:"config"`
}

func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	ws, _ := split(r.URL.Path, "/admin/workspaces/")
	if ws == "" {
		http.Error(w, "workspace id missing", http.StatusBadRequest)
		return
	}
	switch r.Method {
	case http.MethodPost:
		var p provisionReq
		if json.NewDecoder(r.Body).Decode(&p) != nil || p.Port <= 0 || p.Port > 65535 {
			http.Error(w, "POST {\"port\": N, \"config\": \"...\"}", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.wss[ws] = &workspace{id: ws, port: p.Port, config: p.Config, status: "provisioning"}
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
		defer cancel()
		timing := s.provision(ctx, ws)
		if timing.Err != "" {
			writeJSON(w, http.StatusInternalServerError, timing)
			return
		}
		writeJSON(w, http.StatusCreated, timing)
	case http.MethodGet:
		s.mu.Lock()
		wsp, ok := s.wss[ws]
		var out map[string]interface{}
		if ok {
			out = map[string]interface{}{
				"workspace": ws, "status": wsp.status, "cache_url": wsp.cacheURL, "db_url": wsp.dbURL,
				"declared": wsp.declared, "cycles": wsp.cycles, "last_cycle": wsp.lastCycle,
				"forwards": wsp.forwards, "failed_forwards": wsp.failed, "no_url": wsp.noURL,
				"containers_created": wsp.containers, "probes": wsp.probes, "probes_not_running": wsp.probesNotRunning,
			}
		}
		s.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown workspace"})
			return
		}
		out["decision"] = s.live.View(ws)
		out["t_ms"] = s.live.NowMs()
		writeJSON(w, http.StatusOK, out)
	case http.MethodDelete:
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		s.mu.Lock()
		if wsp, ok := s.wss[ws]; ok && wsp.containerID != "" {
			s.removed[wsp.containerID] = true
		}
		s.mu.Unlock()
		err := s.dk.Remove(ctx, s.ContainerName(ws), true)
		if err != nil && !docker.IsNotFound(err) {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"removed": s.ContainerName(ws)})
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// provision is the provisioner's Stop then Start: force-remove the old
// container (one call, so Docker's restart policy cannot respawn it), then
// create and start a new one. It returns when the container has started.
func (s *Server) provision(ctx context.Context, ws string) CycleTiming {
	name := s.ContainerName(ws)
	s.mu.Lock()
	wsp := s.wss[ws]
	if wsp.containerID != "" {
		s.removed[wsp.containerID] = true
	}
	port, config := wsp.port, wsp.config
	s.mu.Unlock()
	var t CycleTiming
	t0 := time.Now()
	err := s.dk.Remove(ctx, name, true)
	t1 := time.Now()
	t.RemoveMs = t1.Sub(t0).Milliseconds()
	if err != nil && !docker.IsNotFound(err) {
		s.cfg.Logf("cycle %s: remove: %v", ws, err)
	}
	spec := docker.Spec{
		Image: s.cfg.Image,
		Env: []string{
			"LC_WS=" + ws,
			fmt.Sprintf("LC_ADDR=127.0.0.1:%d", port),
			"LC_PROXY=" + s.cfg.ProxyURL,
			"LC_HEARTBEAT=" + s.cfg.Heartbeat.String(),
			"LC_BOOT_DELAY=" + s.cfg.BootDelay.String(),
			"LC_CONFIG=" + config,
		},
		Labels:        map[string]string{s.cfg.Label: ws},
		RestartPolicy: s.cfg.RestartPolicy,
	}
	id, err := s.dk.Create(ctx, name, spec)
	t2 := time.Now()
	t.CreateMs = t2.Sub(t1).Milliseconds()
	if err == nil {
		err = s.dk.Start(ctx, name)
	}
	t3 := time.Now()
	t.StartMs = t3.Sub(t2).Milliseconds()
	t.TotalMs = t3.Sub(t0).Milliseconds()
	if err != nil {
		t.Err = err.Error()
		s.cfg.Logf("cycle %s: %v", ws, err)
	}
	s.mu.Lock()
	wsp.containers++
	if id != "" {
		wsp.containerID = id
	}
	s.mu.Unlock()
	return t
}

// IsRunning is upstream's IsRunning over Docker's inspect (docker.Probe).
func (s *Server) IsRunning(ctx context.Context, ws string) decide.ProbeAnswer {
	if s.cfg.ProbeLatency > 0 {
		select {
		case <-time.After(s.cfg.ProbeLatency):
		case <-ctx.Done():
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ProbeTimeout)
	defer cancel()
	ct, err := s.dk.Inspect(ctx, s.ContainerName(ws))
	running, perr, truth, detail := docker.Probe(ct, err)
	s.mu.Lock()
	if wsp, ok := s.wss[ws]; ok {
		wsp.probes++
		if !running && perr == nil {
			wsp.probesNotRunning++
		}
	}
	s.mu.Unlock()
	return decide.ProbeAnswer{Running: running, Err: perr, State: truth, Detail: detail}
}

// RunCycle is one restart cycle: the container is stopped and removed,
// the workspace goes provisioning with url=”, a new container is created
// and started. It returns when the new container has started.
func (s *Server) RunCycle(ws string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s.mu.Lock()
	wsp, ok := s.wss[ws]
	if ok {
		wsp.status, wsp.dbURL = "provisioning", ""
	}
	s.mu.Unlock()
	if !ok {
		return
	}
	t := s.provision(ctx, ws)
	s.mu.Lock()
	wsp.cycles++
	wsp.lastCycle = t
	s.mu.Unlock()
	s.cfg.Logf("cycle %s: remove %d ms, create %d ms, start %d ms", ws, t.RemoveMs, t.CreateMs, t.StartMs)
}

// Declared applies a declaration's external effects.
func (s *Server) Declared(ws string, v decide.Verdict) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wsp, ok := s.wss[ws]
	if !ok {
		return
	}
	wsp.declared++
	if wsp.status != "provisioning" && wsp.status != "removed" {
		wsp.status = "offline"
	}
	wsp.cacheURL = ""
	s.cfg.Logf("WORKSPACE_OFFLINE %s: declared dead by %s (restart %s, %s)", ws, v.Req, v.Restart, v.Reason)
}

// WatchEvents follows Docker's event stream for the agent containers and
// records each state change in the truth log, until ctx ends; the channel
// it returns closes when it has stopped.
func (s *Server) WatchEvents(ctx context.Context) (<-chan struct{}, error) {
	ch, err := s.dk.Events(ctx, s.cfg.Label)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range ch {
			ws := e.Actor.Attributes[s.cfg.Label]
			if ws == "" {
				continue
			}
			s.mu.Lock()
			_, known := s.wss[ws]
			removing := s.removed[e.Actor.ID]
			s.mu.Unlock()
			if !known {
				continue
			}
			var state string
			switch e.Action {
			case "start":
				state = "running"
			case "die":
				state = "not_running"
				if e.Actor.Attributes["exitCode"] != "0" && !removing {
					state = "crashed"
				}
			case "destroy":
				state = "not_running"
			default:
				continue
			}
			s.live.ContainerState(ws, state)
		}
	}()
	return done, nil
}

// ErrNoLiveness is returned by Check when SetLiveness was not called.
var ErrNoLiveness = errors.New("proxy: no liveness decision set")

// Check verifies the server is ready to serve.
func (s *Server) Check() error {
	if s.live == nil {
		return ErrNoLiveness
	}
	return nil
}
