// Package decide is the seam between the proxy and the liveness decision.
//
// The proxy only ever talks to a Liveness. The implementation in
// internal/adapter drives the Go package that `livecheck codegen go`
// generates (internal/liveness); when the generated API changes, the adapter
// changes and nothing here or in the proxy does. This package imports no
// generated code.
package decide

import (
	"context"
	"errors"
)

// ProbeAnswer is one IsRunning answer (upstream's (bool, error)), with what
// the platform really reported, for the truth log.
type ProbeAnswer struct {
	// Running and Err are upstream's IsRunning result: (true, nil) running,
	// (false, nil) definitively not running, (true, err) a transient or
	// transport error, (false, err) no backend.
	Running bool
	Err     error
	// State is what the platform reported in the words of the replay log's
	// container lines: "running", "not_running" or "crashed"; empty when the
	// probe failed and the platform reported nothing.
	State string
	// Detail is the platform's own words (Docker: the state's status and exit
	// code, or "not found"), for people reading the logs.
	Detail string
}

// ErrNoBackend is the (false, ErrNoBackend) answer: no provisioner backend.
var ErrNoBackend = errors.New("no provisioner backend")

// Source says who asks for a restart (RestartByID's callers other than the
// detector itself).
type Source int

const (
	// FileWrite is a config or file PUT.
	FileWrite Source = iota + 1
	// Other is anything else (admin, health sweep, ...).
	Other
)

// String names the source.
func (s Source) String() string {
	switch s {
	case FileWrite:
		return "file_write"
	case Other:
		return "other"
	}
	return "unknown"
}

// Restart outcomes, as the generated package names them.
const (
	RestartStarted          = "started"
	RestartCoalesced        = "coalesced"
	RestartDroppedDebounce  = "dropped_debounce"
	RestartDroppedFileWrite = "dropped_file_write"
)

// Verdict is how one decision ended, in the words `livecheck replay` prints
// (one JSON line per finished decision), so the proxy's own record of its
// decisions compares field by field with a replay of its log.
type Verdict struct {
	// TMs is when the decision ended, on the decision clock (milliseconds
	// since the proxy started).
	TMs int64 `json:"t_ms"`
	// WS and Req name the workspace and the failed request.
	WS  string `json:"ws"`
	Req string `json:"req"`
	// Outcome is dead, not_dead, queued or skipped.
	Outcome string `json:"outcome"`
	// Probes is how many IsRunning probes the decision made.
	Probes int `json:"probes"`
	// Restart is started (the coordinator accepted the restart request:
	// started or coalesced), dropped, or none.
	Restart string `json:"restart"`
	// Reason is one word: running, probe_error, strike_N, booting,
	// restarting, recent_heartbeat, started, coalesced, debounce, ...
	Reason string `json:"reason"`
}

// Dead reports whether the container was declared dead.
func (v Verdict) Dead() bool { return v.Outcome == "dead" }

// Platform is what a decision needs from the world outside it. The proxy
// implements it over Docker.
type Platform interface {
	// IsRunning probes the workspace's container.
	IsRunning(ctx context.Context, ws string) ProbeAnswer
	// RunCycle runs one restart cycle of the workspace (stop, provision) and
	// returns when the new container has started. The Liveness calls it on
	// its own goroutine, never while holding a lock.
	RunCycle(ws string)
	// Declared applies the external effects of a declaration of death (the
	// workspace goes offline, its cached URL is deleted, a broadcast). It is
	// called while the workspace's decision state is locked: it must be quick
	// and must not call back into the Liveness.
	Declared(ws string, v Verdict)
}

// WorkspaceView is a read-only snapshot of a workspace's decision state.
type WorkspaceView struct {
	LastHeartbeatMs *int64 `json:"last_heartbeat_ms"`
	URLRegistered   bool   `json:"url_registered"`
	Status          string `json:"status"`
	URLCached       bool   `json:"url_cached"`
	LivenessKey     bool   `json:"liveness_key"`
	Strikes         int    `json:"strikes"`
	Restarting      bool   `json:"restarting"`
	RestartPending  bool   `json:"restart_pending"`
	RestartStarted  *int64 `json:"restart_started_ms"`
	InFlight        int    `json:"decisions_in_flight"`
}

// Liveness is the liveness decision as the proxy uses it: one per proxy,
// safe for concurrent use. Every method records what it did in the replay
// logs.
type Liveness interface {
	// Policy names the policy the decision was generated from.
	Policy() string
	// NowMs is the decision clock: milliseconds since the Liveness started.
	NowMs() int64
	// FailedRequest runs the decision for one failed forward of request req
	// to workspace ws and blocks until it ends (including its re-probe sleep
	// and heartbeat waits), as upstream's maybeMarkContainerDead does on the
	// request's goroutine.
	FailedRequest(ctx context.Context, ws, req string) Verdict
	// Register records the agent's registration (URL set, row online, a
	// heartbeat, the liveness key and the URL cache).
	Register(ws string)
	// Heartbeat records an agent heartbeat (one while the workspace has no
	// URL stands for its registration, as in a replay).
	Heartbeat(ws string)
	// RequestRestart is RestartByID from src. When a cycle starts, the
	// Liveness runs it through Platform.RunCycle.
	RequestRestart(ws string, src Source) string
	// ContainerState records what the platform reported about the
	// workspace's container outside any probe (Docker's event stream), for
	// the truth log only: it never changes a decision.
	ContainerState(ws, state string)
	// View is a snapshot of a workspace's state.
	View(ws string) WorkspaceView
	// Close waits for every decision and restart cycle in flight to end and
	// flushes the logs.
	Close() error
}
