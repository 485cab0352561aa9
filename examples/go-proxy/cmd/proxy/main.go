// Command proxy is the A2A reverse proxy with the generated liveness
// decision, against real Docker containers (see internal/proxy and
// internal/adapter). It writes its replay logs into -log-dir and exits
// cleanly on SIGTERM or SIGINT, after every decision and restart cycle in
// flight has ended.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"livecheck.local/goproxy/internal/adapter"
	"livecheck.local/goproxy/internal/docker"
	"livecheck.local/goproxy/internal/proxy"
	"livecheck.local/goproxy/internal/replaylog"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18080", "listen address (loopback)")
	socket := flag.String("docker", docker.DefaultSocket, "Docker daemon socket")
	image := flag.String("agent-image", "livecheck-agent:e2e", "agent image")
	hb := flag.Duration("heartbeat", 30*time.Second, "agents' heartbeat interval (upstream 30s)")
	boot := flag.Duration("boot-delay", 0, "agents' boot time before they listen and register")
	probeLatency := flag.Duration("probe-latency", 0, "added before each IsRunning call (a busy daemon); 0 normally")
	prefix := flag.String("name-prefix", "lc-e2e-", "container name prefix")
	label := flag.String("label", "livecheck.ws", "label key carrying the workspace id")
	restart := flag.String("restart-policy", "unless-stopped", "agent containers' Docker restart policy (upstream: unless-stopped)")
	logDir := flag.String("log-dir", "proxy-logs", "where events.jsonl, truth.jsonl and decisions.jsonl go")
	flag.Parse()
	log.SetFlags(log.Lmicroseconds)

	dk := docker.New(*socket)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	v, err := dk.Version(ctx)
	cancel()
	if err != nil {
		log.Fatalf("proxy: the Docker daemon at %s does not answer: %v", *socket, err)
	}
	rec, err := replaylog.Open(*logDir)
	if err != nil {
		log.Fatalf("proxy: %v", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("proxy: %v", err)
	}
	srv := proxy.New(proxy.Config{
		Image: *image, ProxyURL: "http://" + ln.Addr().String(), Heartbeat: *hb, BootDelay: *boot,
		NamePrefix: *prefix, Label: *label, RestartPolicy: *restart, ProbeLatency: *probeLatency,
	}, dk)
	live := adapter.New(srv, rec)
	srv.SetLiveness(live)
	evctx, stopEvents := context.WithCancel(context.Background())
	eventsDone, err := srv.WatchEvents(evctx)
	if err != nil {
		log.Fatalf("proxy: docker events: %v", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Fatalf("proxy: %v", err)
		}
	}()
	log.Printf("proxy: policy %s, listening on %s, Docker %s (API %s), agents heartbeat every %s, probe latency %s, logs in %s",
		live.Policy(), ln.Addr(), v.Version, v.APIVersion, *hb, *probeLatency, *logDir)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	log.Printf("proxy: shutting down: waiting for requests, decisions and restart cycles in flight")
	sctx, scancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Printf("proxy: shutdown: %v", err)
	}
	stopEvents()
	<-eventsDone
	if err := live.Close(); err != nil {
		log.Fatalf("proxy: %v", err)
	}
	summary, _ := json.Marshal(map[string]interface{}{
		"policy": live.Policy(), "probe_errors_not_in_truth_log": rec.Unexpressible,
		"logs": []string{filepath.Join(*logDir, replaylog.ProbeLog), filepath.Join(*logDir, replaylog.TruthLog), filepath.Join(*logDir, replaylog.DecisionsLog)},
	})
	log.Printf("proxy: done %s", summary)
}
