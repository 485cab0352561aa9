package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"livecheck.local/goproxy/internal/decide"
	"livecheck.local/goproxy/internal/docker"
)

// fakeDocker records calls; Inspect answers from state.
type fakeDocker struct {
	mu    sync.Mutex
	calls []string
	state map[string]docker.Container
}

func (f *fakeDocker) log(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeDocker) Inspect(_ context.Context, name string) (docker.Container, error) {
	f.log("inspect " + name)
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.state[name]
	if !ok {
		return c, &docker.APIError{Status: 404, Message: "No such container"}
	}
	return c, nil
}

func (f *fakeDocker) Create(_ context.Context, name string, s docker.Spec) (string, error) {
	f.log(fmt.Sprintf("create %s %s %s %v", name, s.Image, s.RestartPolicy, s.Env))
	return "id-" + name, nil
}

func (f *fakeDocker) Start(_ context.Context, name string) error {
	f.log("start " + name)
	return nil
}

func (f *fakeDocker) Remove(_ context.Context, name string, force bool) error {
	f.log(fmt.Sprintf("remove %s force=%v", name, force))
	return nil
}

func (f *fakeDocker) Events(context.Context, string) (<-chan docker.Event, error) {
	ch := make(chan docker.Event)
	close(ch)
	return ch, nil
}

// fakeLive decides with a function and records calls.
type fakeLive struct {
	mu      sync.Mutex
	calls   []string
	verdict func(ws, req string) decide.Verdict
	// platform gets the declaration's effects, as the adapter does.
	platform decide.Platform
}

func (f *fakeLive) log(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}
func (f *fakeLive) Policy() string { return "fake" }
func (f *fakeLive) NowMs() int64   { return 7 }
func (f *fakeLive) FailedRequest(_ context.Context, ws, req string) decide.Verdict {
	f.log("failed " + ws + " " + req)
	v := f.verdict(ws, req)
	if v.Dead() {
		f.platform.Declared(ws, v)
	}
	return v
}
func (f *fakeLive) Register(ws string)  { f.log("register " + ws) }
func (f *fakeLive) Heartbeat(ws string) { f.log("heartbeat " + ws) }
func (f *fakeLive) RequestRestart(ws string, src decide.Source) string {
	f.log("restart " + ws + " " + src.String())
	return decide.RestartStarted
}
func (f *fakeLive) ContainerState(ws, state string)  { f.log("container " + ws + " " + state) }
func (f *fakeLive) View(string) decide.WorkspaceView { return decide.WorkspaceView{} }
func (f *fakeLive) Close() error                     { return nil }
func (f *fakeLive) String() string                   { return strings.Join(f.calls, "; ") }

func setup(t *testing.T, verdict func(ws, req string) decide.Verdict) (*Server, *fakeDocker, *fakeLive, *httptest.Server) {
	t.Helper()
	fd := &fakeDocker{state: map[string]docker.Container{}}
	fl := &fakeLive{verdict: verdict}
	s := New(Config{Image: "agent:test", ProxyURL: "http://proxy", NamePrefix: "lc-", Label: "lc.ws", RestartPolicy: "unless-stopped", Logf: t.Logf}, fd)
	fl.platform = s
	s.SetLiveness(fl)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return s, fd, fl, hs
}

func do(t *testing.T, method, url, body string) (*http.Response, map[string]interface{}) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]interface{}
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

func TestForwardDecideAndURLCaches(t *testing.T) {
	var agentFails bool
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/a2a" {
			t.Errorf("agent got path %s", r.URL.Path)
		}
		if agentFails {
			w.WriteHeader(500)
			return
		}
		fmt.Fprint(w, `{"result":"pong"}`)
	}))
	defer agent.Close()
	dead := false
	s, fd, fl, hs := setup(t, func(ws, req string) decide.Verdict {
		if dead {
			return decide.Verdict{WS: ws, Req: req, Outcome: "dead", Restart: "started", Reason: "started"}
		}
		return decide.Verdict{WS: ws, Req: req, Outcome: "not_dead", Reason: "running"}
	})
	if resp, _ := do(t, "POST", hs.URL+"/workspaces/w1/a2a", "{}"); resp.StatusCode != 404 {
		t.Fatalf("unknown workspace: %d", resp.StatusCode)
	}
	if resp, m := do(t, "POST", hs.URL+"/admin/workspaces/w1", `{"port":19999,"config":"c0"}`); resp.StatusCode != 201 {
		t.Fatalf("provision: %d %v", resp.StatusCode, m)
	}
	if got := fmt.Sprint(fd.calls); !strings.Contains(got, "remove lc-w1 force=true") || !strings.Contains(got, "create lc-w1 agent:test unless-stopped [LC_WS=w1 LC_ADDR=127.0.0.1:19999 LC_PROXY=http://proxy") || !strings.Contains(got, "start lc-w1") {
		t.Fatalf("provision calls: %s", got)
	}
	// Before registration: no URL, 503, no decision.
	if resp, _ := do(t, "POST", hs.URL+"/workspaces/w1/a2a", "{}"); resp.StatusCode != 503 || resp.Header.Get("X-Livecheck-Decision") != "none no_url" {
		t.Fatalf("no URL: %d %q", resp.StatusCode, resp.Header.Get("X-Livecheck-Decision"))
	}
	do(t, "POST", hs.URL+"/registry/register", fmt.Sprintf(`{"workspace_id":"w1","url":%q}`, agent.URL))
	if resp, m := do(t, "POST", hs.URL+"/workspaces/w1/a2a", "{}"); resp.StatusCode != 200 || m["result"] != "pong" {
		t.Fatalf("forward: %d %v", resp.StatusCode, m)
	}
	// An agent 5xx runs the decision (upstream's 5xx path): not dead -> 502.
	agentFails = true
	resp, m := do(t, "POST", hs.URL+"/workspaces/w1/a2a", "{}")
	if resp.StatusCode != 502 || m["decision"] != "not_dead" || !strings.HasPrefix(resp.Header.Get("X-Livecheck-Decision"), "not_dead running r") {
		t.Fatalf("5xx path: %d %v %q", resp.StatusCode, m, resp.Header.Get("X-Livecheck-Decision"))
	}
	// Dead -> 503 restarting, Retry-After; the cached URL goes, the DB URL stays.
	dead = true
	resp, m = do(t, "POST", hs.URL+"/workspaces/w1/a2a", "{}")
	if resp.StatusCode != 503 || m["restarting"] != true || resp.Header.Get("Retry-After") != "15" {
		t.Fatalf("dead: %d %v", resp.StatusCode, m)
	}
	s.mu.Lock()
	w := *s.wss["w1"]
	s.mu.Unlock()
	if w.cacheURL != "" || w.dbURL != agent.URL || w.status != "offline" || w.declared != 1 {
		t.Fatalf("after the declaration: %+v", w)
	}
	// Still forwarded (to the DB URL) and decided.
	agentFails, dead = false, false
	if resp, _ := do(t, "POST", hs.URL+"/workspaces/w1/a2a", "{}"); resp.StatusCode != 200 {
		t.Fatalf("forward to the DB URL: %d", resp.StatusCode)
	}
	// A heartbeat brings it back online; the cache stays empty.
	do(t, "POST", hs.URL+"/registry/heartbeat", `{"workspace_id":"w1"}`)
	s.mu.Lock()
	w = *s.wss["w1"]
	s.mu.Unlock()
	if w.status != "online" || w.cacheURL != "" {
		t.Fatalf("after a heartbeat: %+v", w)
	}
	// A restart cycle blanks the DB URL: nothing to forward to.
	s.RunCycle("w1")
	if resp, _ := do(t, "POST", hs.URL+"/workspaces/w1/a2a", "{}"); resp.StatusCode != 503 {
		t.Fatalf("after a cycle: %d", resp.StatusCode)
	}
	// A config PUT stores the config and asks for a file-write restart.
	if resp, m := do(t, "PUT", hs.URL+"/workspaces/w1/config", "model=y"); resp.StatusCode != 202 || m["restart"] != "started" {
		t.Fatalf("config PUT: %d %v", resp.StatusCode, m)
	}
	s.RunCycle("w1")
	if got := fmt.Sprint(fd.calls); !strings.Contains(got, "LC_CONFIG=model=y") {
		t.Fatalf("the new container does not get the new config: %s", got)
	}
	want := "register w1; failed w1 r1; failed w1 r2; heartbeat w1; restart w1 file_write"
	if fl.String() != want {
		t.Fatalf("liveness calls\n %s\nwant\n %s", fl, want)
	}
}

func TestIsRunningMapsDocker(t *testing.T) {
	s, fd, _, _ := setup(t, nil)
	if a := s.IsRunning(context.Background(), "w1"); a.Running || a.Err != nil || a.State != "not_running" {
		t.Fatalf("missing container: %+v", a)
	}
	fd.state["lc-w1"] = docker.Container{State: docker.State{Status: "exited", ExitCode: 137}}
	if a := s.IsRunning(context.Background(), "w1"); a.Running || a.State != "crashed" {
		t.Fatalf("killed container: %+v", a)
	}
	fd.state["lc-w1"] = docker.Container{State: docker.State{Status: "running", Running: true}}
	if a := s.IsRunning(context.Background(), "w1"); !a.Running || a.State != "running" {
		t.Fatalf("running container: %+v", a)
	}
}
