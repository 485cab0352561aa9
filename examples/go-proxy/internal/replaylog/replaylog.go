// Package replaylog writes the proxy's decisions as `livecheck replay` logs
// (CONTRACT.md, "Replay log"), JSON Lines, one event per line:
//
//   - the probe log (events.jsonl): register, heartbeat, restart_requested
//     (with its source), cycle_finished, a2a_failed and probe lines carrying
//     exactly what each probe answered and when. `livecheck replay --policy P events.jsonl`
//     reproduces the proxy's decisions from it.
//   - the truth log (truth.jsonl): the same events, with container lines
//     (what Docker reported, at each probe and on each Docker event) instead
//     of probe lines: the contract's "Logs with the container's truth", for
//     replaying the same traffic under another policy. A probe that failed
//     (a transport error) has no container line: Docker reported nothing.
//   - the decisions log (decisions.jsonl): every decision the proxy made, in
//     the words `livecheck replay` prints, to compare with a replay.
//
// Lines are written in the order the events were applied; for each
// workspace t_ms never decreases (the caller holds the workspace's lock).
package replaylog

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Event is one line of the probe or truth log. Fields that do not apply are
// left out, as the replay parser rejects fields on the wrong lines.
type Event struct {
	TMs    int64  `json:"t_ms"`
	WS     string `json:"ws"`
	Event  string `json:"event"`
	Req    string `json:"req,omitempty"`
	Result string `json:"result,omitempty"`
	State  string `json:"state,omitempty"`
	Source string `json:"source,omitempty"`
}

// Recorder writes the three logs. The zero value is not usable; a nil
// *Recorder records nothing.
type Recorder struct {
	mu        sync.Mutex
	probes    *bufio.Writer
	truth     *bufio.Writer
	decisions *bufio.Writer
	closers   []io.Closer
	err       error
	// Unexpressible counts probe answers the truth log could not hold.
	Unexpressible int
}

// Names of the files Open creates in its directory.
const (
	ProbeLog     = "events.jsonl"
	TruthLog     = "truth.jsonl"
	DecisionsLog = "decisions.jsonl"
)

// Open creates the three logs in dir (which it creates).
func Open(dir string) (*Recorder, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &Recorder{}
	open := func(name string) (*bufio.Writer, error) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		r.closers = append(r.closers, f)
		return bufio.NewWriter(f), nil
	}
	var err error
	if r.probes, err = open(ProbeLog); err != nil {
		return nil, err
	}
	if r.truth, err = open(TruthLog); err != nil {
		return nil, err
	}
	if r.decisions, err = open(DecisionsLog); err != nil {
		return nil, err
	}
	return r, nil
}

// New writes the logs to the given writers (tests).
func New(probes, truth, decisions io.Writer) *Recorder {
	return &Recorder{
		probes:    bufio.NewWriter(probes),
		truth:     bufio.NewWriter(truth),
		decisions: bufio.NewWriter(decisions),
	}
}

func (r *Recorder) line(w *bufio.Writer, v interface{}) {
	b, err := json.Marshal(v)
	if err == nil {
		b = append(b, '\n')
		_, err = w.Write(b)
	}
	if err != nil && r.err == nil {
		r.err = err
	}
}

// Both writes an event that belongs in the probe log and the truth log
// (register, heartbeat, restart_requested, cycle_finished, a2a_failed).
func (r *Recorder) Both(e Event) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.line(r.probes, e)
	r.line(r.truth, e)
}

// Probe writes a probe answer: a probe line in the probe log and, when the
// platform reported a state, a container line in the truth log.
func (r *Recorder) Probe(t int64, ws, req, result, state string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.line(r.probes, Event{TMs: t, WS: ws, Event: "probe", Req: req, Result: result})
	if state == "" {
		r.Unexpressible++
		return
	}
	r.line(r.truth, Event{TMs: t, WS: ws, Event: "container", State: state})
}

// Container writes a container line in the truth log only.
func (r *Recorder) Container(t int64, ws, state string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.line(r.truth, Event{TMs: t, WS: ws, Event: "container", State: state})
}

// Decision writes one finished decision.
func (r *Recorder) Decision(v interface{}) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.line(r.decisions, v)
}

// Flush writes out what is buffered.
func (r *Recorder) Flush() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range []*bufio.Writer{r.probes, r.truth, r.decisions} {
		if err := w.Flush(); err != nil && r.err == nil {
			r.err = err
		}
	}
	return r.err
}

// Close flushes and closes the files.
func (r *Recorder) Close() error {
	if r == nil {
		return nil
	}
	err := r.Flush()
	for _, c := range r.closers {
		if cerr := c.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("replay logs: %w", err)
	}
	return nil
}
