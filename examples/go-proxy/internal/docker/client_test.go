package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

func TestProbeMapsStatesLikeUpstream(t *testing.T) {
	cases := []struct {
		name    string
		state   State
		err     error
		running bool
		isErr   bool
		truth   string
	}{
		{"running", State{Status: "running", Running: true}, nil, true, false, "running"},
		{"restarting", State{Status: "restarting", Running: true, Restarting: true}, nil, false, false, "not_running"},
		{"created", State{Status: "created"}, nil, false, false, "not_running"},
		{"exited 0", State{Status: "exited"}, nil, false, false, "not_running"},
		{"killed", State{Status: "exited", ExitCode: 137}, nil, false, false, "crashed"},
		{"oom", State{Status: "exited", ExitCode: 137, OOMKilled: true}, nil, false, false, "crashed"},
		{"paused", State{Status: "paused", Running: true, Paused: true}, nil, false, false, "not_running"},
		{"not found", State{}, &APIError{Status: 404, Message: "No such container"}, false, false, "not_running"},
		{"daemon error", State{}, &APIError{Status: 500, Message: "boom"}, true, true, ""},
		{"transport", State{}, fmt.Errorf("dial unix: connection refused"), true, true, ""},
	}
	for _, c := range cases {
		running, err, truth, _ := Probe(Container{State: c.state}, c.err)
		if running != c.running || (err != nil) != c.isErr || truth != c.truth {
			t.Errorf("%s: got (%v, %v, %q), want (%v, err=%v, %q)", c.name, running, err, truth, c.running, c.isErr, c.truth)
		}
	}
}

// fakeDaemon serves a few Engine API paths on a unix socket.
func fakeDaemon(t *testing.T) (*Client, *[]string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	mux := http.NewServeMux()
	mux.HandleFunc("/containers/", func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.Method+" "+r.URL.RequestURI())
		switch {
		case r.URL.Path == "/containers/gone/json":
			w.WriteHeader(404)
			fmt.Fprint(w, `{"message":"No such container: gone"}`)
		case r.URL.Path == "/containers/up/json":
			fmt.Fprint(w, `{"Id":"abc","Name":"/up","RestartCount":2,"State":{"Status":"running","Running":true,"Pid":42}}`)
		case r.URL.Path == "/containers/create":
			var body map[string]interface{}
			_ = json.NewDecoder(r.Body).Decode(&body)
			hc := body["HostConfig"].(map[string]interface{})
			if hc["NetworkMode"] != "host" || hc["RestartPolicy"].(map[string]interface{})["Name"] != "unless-stopped" {
				w.WriteHeader(400)
				return
			}
			w.WriteHeader(201)
			fmt.Fprint(w, `{"Id":"new1"}`)
		case r.URL.Path == "/containers/up/start":
			w.WriteHeader(304)
		default:
			w.WriteHeader(204)
		}
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"livecheck.ws":"w1"}}}`+"\n")
		fmt.Fprint(w, `{"Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"livecheck.ws":"w1","exitCode":"137"}}}`+"\n")
	})
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux}}
	srv.Start()
	t.Cleanup(srv.Close)
	return New(sock), &calls
}

func TestClientOverUnixSocket(t *testing.T) {
	c, calls := fakeDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Inspect(ctx, "gone"); !IsNotFound(err) {
		t.Fatalf("inspect gone: %v, want not found", err)
	}
	ct, err := c.Inspect(ctx, "up")
	if err != nil || ct.ID != "abc" || !ct.State.Running || ct.RestartCount != 2 {
		t.Fatalf("inspect up: %+v %v", ct, err)
	}
	id, err := c.Create(ctx, "w1", Spec{Image: "img", RestartPolicy: "unless-stopped"})
	if err != nil || id != "new1" {
		t.Fatalf("create: %q %v", id, err)
	}
	if err := c.Start(ctx, "up"); err != nil {
		t.Fatalf("start of a started container: %v", err)
	}
	if err := c.Remove(ctx, "up", true); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(ctx, "up", "KILL"); err != nil {
		t.Fatal(err)
	}
	ch, err := c.Events(ctx, "livecheck.ws")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for e := range ch {
		actions = append(actions, e.Action+":"+e.Actor.Attributes["livecheck.ws"])
	}
	if fmt.Sprint(actions) != "[start:w1 die:w1]" {
		t.Fatalf("events %v", actions)
	}
	want := "[GET /containers/gone/json GET /containers/up/json POST /containers/create?name=w1 POST /containers/up/start DELETE /containers/up?force=true POST /containers/up/kill?signal=KILL GET /events]"
	if fmt.Sprint(*calls) != want {
		t.Fatalf("calls\n %v\nwant\n %v", *calls, want)
	}
}
