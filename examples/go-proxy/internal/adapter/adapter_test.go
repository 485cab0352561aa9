package adapter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"livecheck.local/goproxy/internal/decide"
	"livecheck.local/goproxy/internal/replaylog"
)

// fakePlatform answers probes with a function and counts what it is asked.
type fakePlatform struct {
	probe    func() decide.ProbeAnswer
	cycle    time.Duration
	cycles   int32
	declared int32
	probes   int32
}

func (f *fakePlatform) IsRunning(context.Context, string) decide.ProbeAnswer {
	atomic.AddInt32(&f.probes, 1)
	return f.probe()
}

func (f *fakePlatform) RunCycle(string) {
	atomic.AddInt32(&f.cycles, 1)
	time.Sleep(f.cycle)
}

func (f *fakePlatform) Declared(string, decide.Verdict) { atomic.AddInt32(&f.declared, 1) }

func running() decide.ProbeAnswer { return decide.ProbeAnswer{Running: true, State: "running"} }

type logs struct{ probes, truth, decisions bytes.Buffer }

func newAdapter(p decide.Platform) (*Adapter, *logs) {
	l := &logs{}
	return New(p, replaylog.New(&l.probes, &l.truth, &l.decisions)), l
}

func lines(t *testing.T, b *bytes.Buffer) []map[string]interface{} {
	t.Helper()
	var out []map[string]interface{}
	sc := bufio.NewScanner(bytes.NewReader(b.Bytes()))
	for sc.Scan() {
		var m map[string]interface{}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bad log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestRunningProbeIsNotDead(t *testing.T) {
	fp := &fakePlatform{probe: running}
	a, l := newAdapter(fp)
	a.Register("w1")
	v := a.FailedRequest(context.Background(), "w1", "r1")
	if v.Outcome != "not_dead" || v.Reason != "running" || v.Probes != 1 || v.Restart != "none" {
		t.Fatalf("verdict %+v, want not_dead/running after 1 probe", v)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	d := lines(t, &l.decisions)
	if len(d) != 1 || d[0]["req"] != "r1" || d[0]["outcome"] != "not_dead" {
		t.Fatalf("decisions log %v", d)
	}
	events := []string{}
	for _, e := range lines(t, &l.probes) {
		events = append(events, e["event"].(string))
	}
	if fmt.Sprint(events) != "[register a2a_failed probe]" {
		t.Fatalf("probe log events %v", events)
	}
	truth := []string{}
	for _, e := range lines(t, &l.truth) {
		truth = append(truth, e["event"].(string))
	}
	if fmt.Sprint(truth) != "[register a2a_failed container]" {
		t.Fatalf("truth log events %v", truth)
	}
}

func TestConfigRestartRunsOneCycleAndLogsIt(t *testing.T) {
	fp := &fakePlatform{probe: running, cycle: 20 * time.Millisecond}
	a, l := newAdapter(fp)
	a.Register("w1")
	if o := a.RequestRestart("w1", decide.FileWrite); o != decide.RestartStarted {
		t.Fatalf("first config restart: %s", o)
	}
	if v := a.View("w1"); !v.Restarting || v.URLRegistered || v.Status != "provisioning" {
		t.Fatalf("during the cycle: %+v", v)
	}
	// A second PUT right away is dropped (file-write drop or debounce).
	if o := a.RequestRestart("w1", decide.FileWrite); o == decide.RestartStarted || o == decide.RestartCoalesced {
		t.Fatalf("second config restart: %s", o)
	}
	// While the cycle runs, a decision is skipped without a probe.
	if v := a.FailedRequest(context.Background(), "w1", "r1"); v.Outcome != "skipped" || v.Reason != "restarting" || v.Probes != 0 {
		t.Fatalf("decision during the cycle: %+v", v)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if fp.cycles != 1 {
		t.Fatalf("%d cycles, want 1", fp.cycles)
	}
	var events []string
	for _, e := range lines(t, &l.probes) {
		events = append(events, e["event"].(string))
	}
	if fmt.Sprint(events) != "[register restart_requested restart_requested a2a_failed cycle_finished]" {
		t.Fatalf("probe log events %v", events)
	}
}

func TestDeclarationRestartsThroughTheCoordinator(t *testing.T) {
	// No heartbeat ever, every probe not running: every shipped policy
	// declares at its last probe, and the declaration's RestartByID
	// (detector) starts a cycle on a workspace that never restarted.
	fp := &fakePlatform{cycle: 10 * time.Millisecond, probe: func() decide.ProbeAnswer {
		return decide.ProbeAnswer{State: "not_running"}
	}}
	a, l := newAdapter(fp)
	v := a.FailedRequest(context.Background(), "w1", "r1")
	if v.Outcome != "dead" || v.Restart != "started" || v.Reason != "started" {
		t.Fatalf("verdict %+v, want dead, restart started", v)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if fp.declared != 1 || fp.cycles != 1 {
		t.Fatalf("%d declarations, %d cycles; want 1 and 1", fp.declared, fp.cycles)
	}
	w := a.View("w1")
	if w.Restarting || w.Status != "provisioning" || w.URLCached || w.LivenessKey || w.RestartStarted == nil {
		t.Fatalf("after the cycle: %+v", w)
	}
	var events []string
	for _, e := range lines(t, &l.probes) {
		if e["event"] != "probe" {
			events = append(events, e["event"].(string))
		}
	}
	// The declaration's own RestartByID is not a line: replay runs it.
	if fmt.Sprint(events) != "[a2a_failed cycle_finished]" {
		t.Fatalf("probe log events %v", events)
	}
}

func TestProbeErrorIsNotInTheTruthLog(t *testing.T) {
	fp := &fakePlatform{probe: func() decide.ProbeAnswer {
		return decide.ProbeAnswer{Running: true, Err: errors.New("daemon busy")}
	}}
	a, l := newAdapter(fp)
	v := a.FailedRequest(context.Background(), "w1", "r1")
	if v.Outcome == "dead" {
		t.Fatalf("a transport error declared the container dead: %+v", v)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for _, e := range lines(t, &l.probes) {
		if e["event"] == "probe" && e["result"] != "error" {
			t.Fatalf("probe line %v, want result error", e)
		}
	}
	for _, e := range lines(t, &l.truth) {
		if e["event"] == "container" {
			t.Fatalf("truth log has a container line for a failed probe: %v", e)
		}
	}
}

// TestReplayReproducesConcurrentDecisions drives the adapter from many
// goroutines (failed requests, heartbeats, config restarts, probes with
// random answers and latencies), then replays the probe log with the real
// `livecheck replay` and demands the same decisions, field by field. It needs
// LIVECHECK_BIN (the livecheck binary) and LIVECHECK_POLICY (the policy file
// the package in internal/liveness was generated from); scripts/e2e-docker
// sets both.
func TestReplayReproducesConcurrentDecisions(t *testing.T) {
	bin, policy := os.Getenv("LIVECHECK_BIN"), os.Getenv("LIVECHECK_POLICY")
	if bin == "" || policy == "" {
		t.Skip("set LIVECHECK_BIN and LIVECHECK_POLICY to compare with livecheck replay")
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	var rmu sync.Mutex
	rng := rand.New(rand.NewSource(seed))
	intn := func(n int) int {
		rmu.Lock()
		defer rmu.Unlock()
		return rng.Intn(n)
	}
	fp := &fakePlatform{cycle: 30 * time.Millisecond, probe: func() decide.ProbeAnswer {
		time.Sleep(time.Duration(intn(20)) * time.Millisecond)
		switch r := intn(10); {
		case r < 5:
			return running()
		case r < 9:
			return decide.ProbeAnswer{State: "not_running"}
		default:
			return decide.ProbeAnswer{Running: true, Err: errors.New("timeout")}
		}
	}}
	a, l := newAdapter(fp)
	var wg sync.WaitGroup
	var seq int64
	deadline := time.Now().Add(2500 * time.Millisecond)
	for _, ws := range []string{"w1", "w2", "w3"} {
		ws := ws
		for c := 0; c < 3; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					req := fmt.Sprintf("r%d", atomic.AddInt64(&seq, 1))
					a.FailedRequest(context.Background(), ws, req)
					time.Sleep(time.Duration(intn(150)) * time.Millisecond)
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if intn(4) == 0 {
					a.Register(ws)
				} else {
					a.Heartbeat(ws)
				}
				if intn(8) == 0 {
					a.RequestRestart(ws, decide.FileWrite)
				}
				time.Sleep(time.Duration(100+intn(500)) * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// Per workspace, t_ms never decreases.
	last := map[string]float64{}
	for _, e := range lines(t, &l.probes) {
		ws, tm := e["ws"].(string), e["t_ms"].(float64)
		if tm < last[ws] {
			t.Fatalf("time goes backwards for %s: %v after %v", ws, tm, last[ws])
		}
		last[ws] = tm
	}
	f, err := os.CreateTemp(t.TempDir(), "events-*.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(l.probes.Bytes()); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command(bin, "replay", "--policy", policy, f.Name()).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("livecheck replay: %v: %s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	made := sorted(lines(t, &l.decisions))
	replayed := sorted(lines(t, bytes.NewBuffer(out)))
	if len(made) == 0 {
		t.Fatal("no decisions were made")
	}
	if len(made) != len(replayed) {
		t.Fatalf("%d decisions made, %d replayed", len(made), len(replayed))
	}
	kinds := map[string]int{}
	for i := range made {
		a, _ := json.Marshal(made[i])
		b, _ := json.Marshal(replayed[i])
		if !bytes.Equal(a, b) {
			t.Fatalf("decision %d differs:\n  adapter %s\n  replay  %s", i, a, b)
		}
		kinds[fmt.Sprintf("%v/%v", made[i]["outcome"], made[i]["reason"])]++
	}
	t.Logf("%d decisions, all equal to the replay: %v", len(made), kinds)
}

func sorted(ls []map[string]interface{}) []map[string]interface{} {
	sort.Slice(ls, func(i, j int) bool {
		return fmt.Sprint(ls[i]["ws"], "/", ls[i]["req"]) < fmt.Sprint(ls[j]["ws"], "/", ls[j]["req"])
	})
	return ls
}
