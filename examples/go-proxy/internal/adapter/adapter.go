// Package adapter implements decide.Liveness over the Go package that
// `livecheck codegen go --policy POLICY --out internal/liveness` generates.
//
// This file is the only code that knows the generated API: time.Duration
// instants, a sans-IO Decision fed Start/Answer/Timer/Resume, a Workspace
// value with the agent's writes (Register, Heartbeat), the declaration's
// effects and the restart coordinator's sections (FileWriteGate,
// RestartByIDNow, LoopTop, Exit), which the caller serializes.
//
// # Why not the generated Tracker
//
// The generated package also offers a Tracker (NewTracker(prober,
// restarter)) that takes upstream's lock sections one by one: another
// request may run between a strike and its declaration, and between
// RestartByID's debounce check and its coalescing. The Tracker reads its own
// clock inside each section and logs nothing, so a probe log written around
// its calls cannot say in which order, and at which instant, its sections
// ran. This proxy's point is the other way round: every input the machine
// gets is in its log, and `livecheck replay` of that log prints the proxy's
// decisions to the millisecond. So the adapter drives the machines itself
// under one mutex per workspace, with replay's rule for what runs back to
// back in one section: a decision's StepYield is resumed at once, a
// declaration's RestartByID (SourceDetector) runs right after it
// (Workspace.RestartByIDNow), and a config PUT is the file-write drop, the
// debounce check and the coalescing back to back. The interleavings the
// Tracker allows and this adapter does not (a second request between a
// strike and its declaration, two RestartByIDs both passing the debounce)
// are the model checker's to explore, not this end-to-end test's.
//
// # Time, and why a replay reproduces the proxy exactly
//
// The decision clock is milliseconds since the adapter started; the
// generated machines get it as a time.Duration of whole milliseconds, as
// replay feeds them. Each workspace has one mutex; every event (a failed
// request, a probe answer, a registration, a heartbeat, a restart request,
// a restart cycle's end) reads the clock under that mutex, so events of one
// workspace get non-decreasing times in the order they are applied and
// logged. The decisions' own timers (re-probe delay, fresh-heartbeat polls)
// follow `livecheck replay`'s rule: before any event at time t is applied,
// every timer due by t fires first, at its own instant, in the order replay
// fires them; a timer nobody else fired is fired by its own goroutine when
// the clock reaches it, again at its own instant. So the machine sees exactly
// the sequence of inputs that replaying the probe log feeds it, and
// `livecheck replay --policy P events.jsonl` prints the decisions the proxy
// made, to the millisecond.
//
// # The events it logs
//
// register (the agent's registration), heartbeat, restart_requested with
// source file_write (a config PUT), cycle_finished (a restart cycle the
// coordinator started returned: its drain loop's top runs again, or its
// exit), a2a_failed and probe. A declaration's own RestartByID is not a
// line: replay runs it after the decision that declared, as this adapter
// does.
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

// dur is a decision-clock instant as the generated machines take it.
func dur(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// msOf is a generated instant on the decision clock (whole milliseconds:
// every instant the adapter feeds is one, and the policy's knobs are too).
func msOf(d time.Duration) int64 { return d.Milliseconds() }

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
			w := msOf(when)
			if kind == gen.InputTimer && w <= t && (idx < 0 || w < at) {
				idx, at = i, w
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
		a.feed(ws, s, idx, r, at, gen.Timer())
	}
}

// feed steps r (at index idx of pending, or -1 when it never entered
// pending) with in at t, in one section: a StepYield is resumed at once
// (nothing runs between a strike and its declaration in a replay), and a
// finished decision is finished.
func (a *Adapter) feed(ws string, s *wsState, idx int, r *run, t int64, in gen.Input) {
	step, err := r.d.Step(&s.w, dur(t), in)
	for err == nil && step.Kind == gen.StepYield {
		step, err = r.d.Step(&s.w, dur(t), gen.Resume())
	}
	a.after(ws, s, idx, r, step, err, t)
}

// after records a step of r taken at t, finishing the decision when it is
// done.
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
			a.finished(ws, s, r, step.Verdict, t)
		}
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// finished ends a decision: a declaration's RestartByID (SourceDetector)
// runs at once, as replay runs it; then the decisions log, the
// declaration's external effects and the restart cycle it started.
func (a *Adapter) finished(ws string, s *wsState, r *run, gv gen.Verdict, t int64) {
	restart := gen.RestartOutcome(0)
	if gv.Outcome == gen.Dead {
		// The declaration's effects on the shared state (strikes reset, row
		// offline unless provisioning, liveness key and URL cache deleted)
		// are applied; upstream then launches RestartByID on a goroutine.
		restart = s.w.RestartByIDNow(dur(t), gen.SourceDetector)
	}
	r.verdict = verdictOf(gv, restart, int(r.d.Probes()), t, ws, r.req)
	r.done = true
	a.rec.Decision(r.verdict)
	if gv.Outcome != gen.Dead {
		return
	}
	a.platform.Declared(ws, r.verdict)
	if restart == gen.RestartStarted {
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
	// As replay: the decision joins the live list, then takes Start.
	s.pending = append(s.pending, r)
	a.feed(ws, s, len(s.pending)-1, r, t, gen.Start())
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
			res := gen.ProbeResultOf(ans.Running, ans.Err)
			a.rec.Probe(t, ws, req, res.String(), ans.State)
			a.feed(ws, s, indexOf(s.pending, r), r, t, gen.Answer(res))
		case gen.StepWake:
			at := msOf(r.step.At)
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
	t := time.NewTimer(dur(d))
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

// verdictOf words a generated verdict, and for a declaration what became of
// its restart request, the way `livecheck replay` does.
func verdictOf(gv gen.Verdict, restart gen.RestartOutcome, probes int, t int64, ws, req string) decide.Verdict {
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
		switch restart {
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

// Register records the agent's registration: URL set, row online,
// last_heartbeat_at, liveness key and URL cache.
func (a *Adapter) Register(ws string) {
	s, t := a.enter(ws)
	defer s.mu.Unlock()
	a.rec.Both(replaylog.Event{TMs: t, WS: ws, Event: "register"})
	s.w.Register(dur(t))
}

// Heartbeat records a heartbeat. As in replay, a heartbeat while the row has
// no URL stands for the registration (the agent registers before it
// heartbeats).
func (a *Adapter) Heartbeat(ws string) {
	s, t := a.enter(ws)
	defer s.mu.Unlock()
	a.rec.Both(replaylog.Event{TMs: t, WS: ws, Event: "heartbeat"})
	if !s.w.URLRegistered {
		s.w.Register(dur(t))
	} else {
		s.w.Heartbeat(dur(t))
	}
}

// RequestRestart is RestartByID from src, its sections back to back: for a
// config PUT the file-write drop first, then the debounce check and the
// coalescing; a request that starts a cycle runs the drain loop's first top
// (the row marked provisioning, URL blank) and the cycle.
func (a *Adapter) RequestRestart(ws string, src decide.Source) string {
	s, t := a.enter(ws)
	defer s.mu.Unlock()
	gs := gen.SourceOther
	if src == decide.FileWrite {
		gs = gen.SourceFileWrite
	}
	a.rec.Both(replaylog.Event{TMs: t, WS: ws, Event: "restart_requested", Source: gs.String()})
	now := dur(t)
	if gs == gen.SourceFileWrite && !s.w.Restart.FileWriteGate(now) {
		return gen.RestartDroppedFileWrite.String()
	}
	o := s.w.RestartByIDNow(now, gs)
	if o == gen.RestartStarted {
		a.launchCycle(ws)
	}
	return o.String()
}

// launchCycle runs the drain loop of a request that started a cycle, on a
// goroutine: one restart cycle, then (a cycle_finished line) the loop's top
// again, which runs another cycle while a request is pending, else the
// loop's exit. The caller holds the workspace's lock.
func (a *Adapter) launchCycle(ws string) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			a.platform.RunCycle(ws)
			s, t := a.enter(ws)
			a.rec.Both(replaylog.Event{TMs: t, WS: ws, Event: "cycle_finished"})
			looped := cycleFinished(&s.w, dur(t))
			s.mu.Unlock()
			if !looped {
				return
			}
		}
	}()
}

// cycleFinished is replay's cycle_finished: nothing when no cycle runs; else
// the drain loop's top (a pending request runs another cycle, which marks
// the row: true) or its exit (false).
func cycleFinished(w *gen.Workspace, now time.Duration) bool {
	if !w.Restart.IsRunning() {
		return false
	}
	if w.Restart.LoopTop(now) == gen.LoopRun {
		w.MarkProvisioning()
		return true
	}
	w.Restart.Exit(now)
	return false
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
		Status:         s.w.Status.String(),
		URLCached:      s.w.URLCached,
		LivenessKey:    s.w.LivenessKey.Valid,
		Strikes:        int(s.w.Strikes.Count),
		Restarting:     s.w.Restart.IsRunning(),
		RestartPending: s.w.Restart.IsPending(),
		InFlight:       len(s.pending),
	}
	if hb := s.w.LastHeartbeat; hb.Valid {
		ms := msOf(hb.At)
		v.LastHeartbeatMs = &ms
	}
	if st := s.w.Restart.StartedAt(); st.Valid {
		ms := msOf(st.At)
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
