package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAgentRegistersHeartbeatsAndFailsOnRequest(t *testing.T) {
	var mu sync.Mutex
	var got []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		got = append(got, r.URL.Path+" "+body["workspace_id"])
		mu.Unlock()
	}))
	defer proxy.Close()
	exited := make(chan int, 1)
	a := New(Config{WS: "w1", Addr: "127.0.0.1:0", Proxy: proxy.URL, Heartbeat: 30 * time.Millisecond,
		ConfigText: "model=x", Exit: func(c int) { exited <- c }, Logf: t.Logf})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = a.Run(ctx) }()
	deadline := time.Now().Add(3 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d calls to the proxy", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	if got[0] != "/registry/register w1" || got[1] != "/registry/heartbeat w1" {
		t.Fatalf("calls %v", got)
	}
	mu.Unlock()
	post := func(path string) (int, string) {
		resp, err := http.Post(a.URL()+path, "application/json", strings.NewReader("{}"))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, b.String()
	}
	if code, body := post("/a2a"); code != 200 || !strings.Contains(body, `"pong"`) || !strings.Contains(body, "model=x") {
		t.Fatalf("a2a: %d %s", code, body)
	}
	post("/control/fail?mode=500")
	if code, _ := post("/a2a"); code != 500 {
		t.Fatalf("fail mode 500: got %d", code)
	}
	post("/control/fail?mode=close")
	if code, _ := post("/a2a"); code != 0 {
		t.Fatalf("fail mode close: got HTTP %d, want a transport error", code)
	}
	post("/control/fail?mode=off")
	if code, _ := post("/a2a"); code != 200 {
		t.Fatalf("fail mode off: got %d", code)
	}
	post("/control/exit?code=3")
	select {
	case c := <-exited:
		if c != 3 {
			t.Fatalf("exit code %d", c)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the agent did not exit")
	}
}
