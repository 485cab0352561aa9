// Command agent is the stand-in workspace agent (see internal/agent). Every
// flag has an LC_* environment variable, which is how the proxy configures
// the containers it creates.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"livecheck.local/goproxy/internal/agent"
)

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func main() {
	ws := flag.String("ws", env("LC_WS", ""), "workspace id (LC_WS)")
	addr := flag.String("addr", env("LC_ADDR", "127.0.0.1:0"), "listen address (LC_ADDR)")
	proxy := flag.String("proxy", env("LC_PROXY", "http://127.0.0.1:8080"), "proxy base URL (LC_PROXY)")
	hb := flag.String("heartbeat", env("LC_HEARTBEAT", "30s"), "heartbeat interval (LC_HEARTBEAT; upstream 30s)")
	boot := flag.String("boot-delay", env("LC_BOOT_DELAY", "0s"), "time to boot before listening (LC_BOOT_DELAY)")
	flag.Parse()
	log.SetFlags(log.Lmicroseconds)
	if *ws == "" {
		log.Fatal("agent: -ws (LC_WS) is required")
	}
	hbd, err := time.ParseDuration(*hb)
	if err != nil || hbd <= 0 {
		log.Fatalf("agent: bad heartbeat interval %q", *hb)
	}
	bootd, err := time.ParseDuration(*boot)
	if err != nil || bootd < 0 {
		log.Fatalf("agent: bad boot delay %q", *boot)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	a := agent.New(agent.Config{
		WS: *ws, Addr: *addr, Proxy: *proxy, Heartbeat: hbd, BootDelay: bootd,
		ConfigText: os.Getenv("LC_CONFIG"), Exit: os.Exit,
	})
	if err := a.Run(ctx); err != nil {
		log.Fatalf("agent %s: %v", *ws, err)
	}
}
