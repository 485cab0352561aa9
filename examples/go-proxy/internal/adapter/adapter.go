// Package adapter implements decide.Liveness over the Go package that
// `livecheck codegen go --policy POLICY --out internal/liveness` generates.
//
// This file is the only code that knows the generated API (today: int64
// milliseconds, a sans-IO Decision fed Start/Probe/Timer, a Workspace value
// the caller must serialize). When the generator changes (time.Duration, a
// Prober and Clock, its own mutex-guarded tracker, asynchronous restart
// requests), this adapter changes and the proxy does not.
//
// # Time, and why a replay reproduces the proxy exactly
//
// The decision clock is milliseconds since the adapter started. Each
// workspace has one mutex; every event (a failed request, a probe answer, a
// heartbeat, a restart start or end) reads the clock under that mutex, so
// events of one workspace get non-decreasing times in the order they are
// applied and logged. The decisions' own timers (re-probe delay, heartbeat
// polls) follow `livecheck replay`'s rule: before any event at time t is
// applied, every timer due by t fires first, at its own instant, in the
// order replay fires them; a timer nobody else fired is fired by its own
// goroutine when the clock reaches it, again at its own instant. So the
// machine sees exactly the sequence of inputs that replaying the probe log
// feeds it, and `livecheck replay --policy P events.jsonl` prints the
// decisions the proxy made, to the millisecond.
package adapter

import (
	"context"
	"fmt"
	"sync"
	"time"

	"livecheck.local/goproxy/internal/decide"
	gen "livecheck.local/goproxy/internal/liveness"
	"livecheck.local/goproxy/internal/replaylog"
)

// Adapter is a decide.Liveness over the generated package.
type Adapter struct {
	platform decide.Platform
	rec      *replaylog.Recorder
	start    time.Time

	mu  sync.Mutex
	wss map[string]*wsState
	err error

	wg sync.WaitGroup
}

var _ decide.Liveness = (*Adapter)(nil)

// wsState is one workspace: the generated Workspace value and the
// decisions waiting on it, under one mutex.
type wsState struct {
	mu sync.Mutex
	w  gen.Workspace
	// lastT is the time of the last event applied or timer fired.
	lastT int64
	// pending are the decisions that wait for a probe or a timer, in the
	// order replay keeps them (appended; removed by swapping in the last).
	pending []*run
}

// run is one decision in flight.
type run struct {
	req  string
	d    gen.Decision
	step gen.Step
	// done and verdict are set once the decision ended.
	done    bool
	verdict decide.Verdict
	// wake is signalled when another goroutine stepped this decision.
	wake chan struct{}
}

// New returns an adapter driving the generated policy against platform,
// recording into rec (nil: no logs).
func New(platform decide.Platform, rec *replaylog.Recorder) *Adapter {
	return &Adapter{
		platform: platform,
		rec:      rec,
		start:    time.Now(),
		wss:      make(map[string]*wsState),
	}
}

// Policy names the generated policy.
func (a *Adapter) Policy() string { return gen.PolicyName }

// NowMs is the decision clock.
func (a *Adapter) NowMs() int64 { return time.Since(a.start).Milliseconds() }

func (a *Adapter) state(ws string) *wsState {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.wss[ws]
	if !ok {
		// The zero Workspace is an ordinary runtime with a provisioner, as a
		// replay log's workspace is by default.
		s = &wsState{}
		a.wss[ws] = s
	}
	return s
}

// enter locks the workspace for an event: reads the clock, fires every
// timer due by then and returns the event's time. The caller unlocks.
func (a *Adapter) enter(ws string) (*wsState, int64) {
	s := a.state(ws)
	s.mu.Lock()
	t := a.NowMs()
	if t < s.lastT {
		t = s.lastT
	}
	a.fireDue(ws, s, t)
	s.lastT = t
	return s, t
}

// enterQuiet locks the workspace without an event: it only fires the timers
// due by now. The caller unlocks.
func (a *Adapter) enterQuiet(ws string) *wsState {
	s := a.state(ws)
	s.mu.Lock()
	a.fireDue(ws, s, a.NowMs())
	return s
}

// fireDue fires, in replay's order (earliest instant first, then lowest
// index in pending), every timer due by t, each at its own instant.
func (a *Adapter) fireDue(ws string, s *wsState, t int64) {
	for {
		idx := -1
		var at int64
		for i, r := range s.pending {
			kind, when := r.d.Awaiting()
			if kind == gen.InputTimer && when <= t && (idx < 0 || when < at) {
				idx, at = i, when
			}
		}
		if idx < 0 {
			return
		}
		if at < s.lastT {
			at = s.lastT
		}
		s.lastT = at
		r := s.pending[idx]
		step, err := r.d.Step(&s.w, at, gen.Timer())
		a.after(ws, s, idx, r, step, err, at)
	}
}

// after records a step of r (at index idx of pending, or -1 when it never
// entered pending) taken at t, finishing the decision when it is done.
func (a *Adapter) after(ws string, s *wsState, idx int, r *run, step gen.Step, err error, t int64) {
	if err != nil {
		// Cannot happen when the driver is right; end the decision loudly.
		a.fail(fmt.Errorf("workspace %s request %s: %v", ws, r.req, err))
		step = gen.Step{Kind: gen.StepDone}
		r.verdict = decide.Verdict{TMs: t, WS: ws, Req: r.req, Outcome: "error", Reason: err.Error()}
		r.done = true
	}
	r.step = step
	if step.Kind == gen.StepDone {
		if idx >= 0 {
			last := len(s.pending) - 1
			s.pending[idx] = s.pending[last]
			s.pending[last] = nil
			s.pending = s.pending[:last]
		}
		if !r.done {
			r.verdict = verdictOf(step.Verdict, int(r.d.Probes()), t, ws, r.req)
			r.done = true
			a.finished(ws, s, r.verdict, step.Verdict, t)
		}
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// finished applies a finished decision's effects: the decisions log, the
// declaration's external effects and the restart cycle it started.
func (a *Adapter) finished(ws string, s *wsState, v decide.Verdict, gv gen.Verdict, t int64) {
	a.rec.Decision(v)
	if gv.Outcome != gen.Dead {
		return
	}
	a.platform.Declared(ws, v)
	if gv.Restart == gen.RestartStarted {
		a.rec.Both(replaylog.Event{TMs: t, WS: ws, Event: "restart_started"})
		a.launchCycle(ws)
	}
}

func (a *Adapter) fail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err == nil {
		a.err = err
	}
}

// FailedRequest runs one decision to its end.
func (a *Adapter) FailedRequest(ctx context.Context, ws, req string) decide.Verdict {
	a.wg.Add(1)
	defer a.wg.Done()
	s, t := a.enter(ws)
	a.rec.Both(replaylog.Event{TMs: t, WS: ws, Event: "a2a_failed", Req: req})
	r := &run{req: req, wake: make(chan struct{}, 1)}
	step, err := r.d.Step(&s.w, t, gen.Start())
	if err == nil && step.Kind != gen.StepDone {
		s.pending = append(s.pending, r)
		r.step = step
	} else {
		a.after(ws, s, -1, r, step, err, t)
	}
	for {
		// s.mu is held here.
		if r.done {
			v := r.verdict
			s.mu.Unlock()
			return v
		}
		switch r.step.Kind {
		case gen.StepProbe:
			s.mu.Unlock()
			ans := a.platform.IsRunning(ctx, ws)
			s, t = a.enter(ws)
			res := probeResult(ans)
			a.rec.Probe(t, ws, req, res.String(), ans.State)
			step, err := r.d.Step(&s.w, t, gen.Answer(res))
			a.after(ws, s, indexOf(s.pending, r), r, step, err, t)
		case gen.StepWake:
			at := r.step.At
			s.mu.Unlock()
			a.sleepUntil(at, r.wake)
			s = a.enterQuiet(ws)
		default:
			a.after(ws, s, indexOf(s.pending, r), r, gen.Step{}, fmt.Errorf("unexpected step %v", r.step.Kind), a.NowMs())
		}
	}
}

// sleepUntil waits until the decision clock reaches at, or wake is
// signalled.
func (a *Adapter) sleepUntil(at int64, wake <-chan struct{}) {
	d := at - a.NowMs()
	if d <= 0 {
		return
	}
	t := time.NewTimer(time.Duration(d) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
	case <-wake:
	}
}

func indexOf(pending []*run, r *run) int {
	for i, p := range pending {
		if p == r {
			return i
		}
	}
	return -1
}

// probeResult maps upstream's (bool, error) to the generated ProbeResult.
func probeResult(ans decide.ProbeAnswer) gen.ProbeResult {
	switch {
	case ans.Err != nil && ans.Running:
		return gen.ProbeError
	case ans.Err != nil:
		return gen.ProbeErrorNotRunning
	case ans.Running:
		return gen.Running
	}
	return gen.NotRunning
}

// verdictOf words a generated verdict the way `livecheck replay` does.
func verdictOf(gv gen.Verdict, probes int, t int64, ws, req string) decide.Verdict {
	v := decide.Verdict{TMs: t, WS: ws, Req: req, Outcome: gv.Outcome.String(), Probes: probes, Restart: "none"}
	switch gv.Outcome {
	case gen.Skipped:
		v.Reason = gv.Reason.String()
	case gen.NotDead:
		if gv.Reason == gen.ReasonStrike {
			v.Reason = fmt.Sprintf("strike_%d", gv.Strikes)
		} else {
			v.Reason = gv.Reason.String()
		}
	case gen.Queued:
		v.Reason = "recent_heartbeat"
	case gen.Dead:
		switch gv.Restart {
		case gen.RestartStarted:
			v.Restart, v.Reason = "started", "started"
		case gen.RestartCoalesced:
			v.Restart, v.Reason = "started", "coalesced"
		case gen.RestartDroppedDebounce:
			v.Restart, v.Reason = "dropped", "debounce"
		case gen.RestartDroppedFileWrite:
			v.Restart, v.Reason = "dropped", "file_write"
		}
	}
	return v
}

// Heartbeat records a heartbeat (or a registration).
func (a *Adapter) Heartbeat(ws string) {
	s, t := a.enter(ws)
	defer s.mu.Unlock()
	a.rec.Both(replaylog.Event{TMs: t, WS: ws, Event: "heartbeat"})
	s.w.Heartbeat(t)
}

// RequestRestart is RestartByID from src.
func (a *Adapter) RequestRestart(ws string, src decide.Source) string {
	s, t := a.enter(ws)
	defer s.mu.Unlock()
	gs := gen.SourceOther
	if src == decide.FileWrite {
		gs = gen.SourceFileWrite
	}
	o := s.w.Restart.Request(t, gs)
	if o == gen.RestartStarted {
		// A cycle that starts stops the container and sets url='' (the
		// generated coordinator leaves the URL to the caller; the
		// detector's own declaration clears it itself).
		s.w.URLRegistered = false
		a.rec.Both(replaylog.Event{TMs: t, WS: ws, Event: "restart_started"})
		a.launchCycle(ws)
	}
	return o.String()
}

// launchCycle runs restart cycles for ws on a goroutine until the
// coordinator stops looping. The caller holds the workspace's lock.
func (a *Adapter) launchCycle(ws string) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			a.platform.RunCycle(ws)
			s, t := a.enter(ws)
			a.rec.Both(replaylog.Event{TMs: t, WS: ws, Event: "restart_finished"})
			end := s.w.Restart.CycleFinished(t)
			if end != gen.CycleLooped {
				s.mu.Unlock()
				return
			}
			s.w.URLRegistered = false
			a.rec.Both(replaylog.Event{TMs: t, WS: ws, Event: "restart_started"})
			s.mu.Unlock()
		}
	}()
}

// ContainerState records a platform report in the truth log.
func (a *Adapter) ContainerState(ws, state string) {
	s, t := a.enter(ws)
	defer s.mu.Unlock()
	a.rec.Container(t, ws, state)
}

// View snapshots a workspace.
func (a *Adapter) View(ws string) decide.WorkspaceView {
	s := a.enterQuiet(ws)
	defer s.mu.Unlock()
	v := decide.WorkspaceView{
		URLRegistered:  s.w.URLRegistered,
		Strikes:        int(s.w.Strikes.Count),
		Restarting:     s.w.Restart.IsRunning(),
		RestartPending: s.w.Restart.IsPending(),
		InFlight:       len(s.pending),
	}
	if hb := s.w.LastHeartbeat; hb.Valid {
		ms := hb.Ms
		v.LastHeartbeatMs = &ms
	}
	if st := s.w.Restart.StartedAt(); st.Valid {
		ms := st.Ms
		v.RestartStarted = &ms
	}
	return v
}

// Close waits for decisions and cycles in flight, then flushes the logs.
func (a *Adapter) Close() error {
	a.wg.Wait()
	err := a.rec.Close()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	return err
}
