// Package docker is the few calls of the Docker Engine API the proxy needs,
// over the daemon's unix socket, with the standard library only: inspect,
// create, start, remove, kill, the event stream and ping.
//
// Paths carry no API version: the daemon then serves its own current
// version (API 1.41 on this machine's Docker 20.10), and every field used
// here exists since API 1.24.
package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultSocket is where dockerd listens by default.
const DefaultSocket = "/var/run/docker.sock"

// Client talks to one Docker daemon.
type Client struct {
	http *http.Client
	// base is the URL prefix requests go to (http://docker for the socket).
	base string
}

// New returns a client for the daemon listening on the unix socket path.
func New(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Client{http: &http.Client{Transport: tr}, base: "http://docker"}
}

// NewHTTP returns a client for a daemon (or a fake) at an HTTP base URL.
func NewHTTP(base string, hc *http.Client) *Client {
	return &Client{http: hc, base: strings.TrimRight(base, "/")}
}

// APIError is a non-2xx answer from the daemon.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("docker: HTTP %d: %s", e.Status, e.Message)
}

// IsNotFound reports whether err is the daemon's 404 (no such container).
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

func (c *Client) do(ctx context.Context, method, path string, body interface{}, out interface{}) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var m struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &m)
		if m.Message == "" {
			m.Message = strings.TrimSpace(string(data))
		}
		return &APIError{Status: resp.StatusCode, Message: m.Message}
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Ping checks that the daemon answers.
func (c *Client) Ping(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/_ping", nil, nil)
}

// Version is the daemon's version.
type Version struct {
	Version    string `json:"Version"`
	APIVersion string `json:"ApiVersion"`
}

// Version asks the daemon its version.
func (c *Client) Version(ctx context.Context) (Version, error) {
	var v Version
	err := c.do(ctx, http.MethodGet, "/version", nil, &v)
	return v, err
}

// State is a container's State from GET /containers/{id}/json.
type State struct {
	Status     string `json:"Status"`
	Running    bool   `json:"Running"`
	Paused     bool   `json:"Paused"`
	Restarting bool   `json:"Restarting"`
	OOMKilled  bool   `json:"OOMKilled"`
	Dead       bool   `json:"Dead"`
	Pid        int    `json:"Pid"`
	ExitCode   int    `json:"ExitCode"`
	StartedAt  string `json:"StartedAt"`
	FinishedAt string `json:"FinishedAt"`
}

// Container is the part of an inspect answer the proxy reads.
type Container struct {
	ID           string `json:"Id"`
	Name         string `json:"Name"`
	RestartCount int    `json:"RestartCount"`
	State        State  `json:"State"`
}

// Inspect is GET /containers/{name}/json.
func (c *Client) Inspect(ctx context.Context, name string) (Container, error) {
	var ct Container
	err := c.do(ctx, http.MethodGet, "/containers/"+url.PathEscape(name)+"/json", nil, &ct)
	return ct, err
}

// Spec is what Create needs: an image, its environment and labels, host
// networking and a restart policy.
type Spec struct {
	Image         string
	Env           []string
	Labels        map[string]string
	RestartPolicy string // "unless-stopped", "no", ...
}

// Create is POST /containers/create?name=NAME with host networking.
func (c *Client) Create(ctx context.Context, name string, s Spec) (string, error) {
	body := map[string]interface{}{
		"Image":  s.Image,
		"Env":    s.Env,
		"Labels": s.Labels,
		"HostConfig": map[string]interface{}{
			"NetworkMode":   "host",
			"RestartPolicy": map[string]interface{}{"Name": s.RestartPolicy},
		},
	}
	var out struct {
		ID string `json:"Id"`
	}
	err := c.do(ctx, http.MethodPost, "/containers/create?name="+url.QueryEscape(name), body, &out)
	return out.ID, err
}

// Start is POST /containers/{name}/start. It returns once the daemon has
// started the container's process.
func (c *Client) Start(ctx context.Context, name string) error {
	err := c.do(ctx, http.MethodPost, "/containers/"+url.PathEscape(name)+"/start", nil, nil)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotModified {
		return nil // already started
	}
	return err
}

// Remove is DELETE /containers/{name}; force kills a running container
// first (one call: Docker's restart policy cannot respawn it in between).
func (c *Client) Remove(ctx context.Context, name string, force bool) error {
	q := "?force=false"
	if force {
		q = "?force=true"
	}
	return c.do(ctx, http.MethodDelete, "/containers/"+url.PathEscape(name)+q, nil, nil)
}

// Kill is POST /containers/{name}/kill with a signal ("KILL", "TERM").
func (c *Client) Kill(ctx context.Context, name, signal string) error {
	return c.do(ctx, http.MethodPost, "/containers/"+url.PathEscape(name)+"/kill?signal="+url.QueryEscape(signal), nil, nil)
}

// Event is one message of GET /events about a container.
type Event struct {
	Type     string `json:"Type"`
	Action   string `json:"Action"`
	TimeNano int64  `json:"timeNano"`
	Actor    struct {
		ID         string            `json:"ID"`
		Attributes map[string]string `json:"Attributes"`
	} `json:"Actor"`
}

// Events streams container events whose containers carry label (a key, or
// key=value) until ctx ends; the channel closes when the stream does.
func (c *Client) Events(ctx context.Context, label string) (<-chan Event, error) {
	filters, _ := json.Marshal(map[string][]string{"type": {"container"}, "label": {label}})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/events?filters="+url.QueryEscape(string(filters)), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return nil, &APIError{Status: resp.StatusCode, Message: strings.TrimSpace(string(b))}
	}
	ch := make(chan Event, 64)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		dec := json.NewDecoder(bufio.NewReader(resp.Body))
		for {
			var e Event
			if err := dec.Decode(&e); err != nil {
				return
			}
			select {
			case ch <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// Probe is upstream's IsRunning over an inspect answer:
//
//   - (true, nil): the container's state is running (and not restarting);
//   - (false, nil): it does not exist (404), or it is exited, created,
//     restarting, removing, dead or paused: definitively not running;
//   - (true, err): the daemon could not be asked (transport error, timeout,
//     any answer other than 200 or 404) — not evidence that it died.
//
// truth is the replay log's container state for the answer: running,
// not_running, or crashed (exited with a non-zero code, or OOM-killed, or
// dead); empty when the daemon reported nothing. detail is Docker's words.
func Probe(ct Container, err error) (running bool, perr error, truth, detail string) {
	if err != nil {
		if IsNotFound(err) {
			return false, nil, "not_running", "not found"
		}
		return true, err, "", "error: " + err.Error()
	}
	st := ct.State
	detail = st.Status
	if st.Status == "exited" || st.Status == "dead" {
		detail = fmt.Sprintf("%s (%d)", st.Status, st.ExitCode)
	}
	if st.Status == "running" && st.Running && !st.Restarting {
		return true, nil, "running", detail
	}
	if (st.Status == "exited" && st.ExitCode != 0) || st.OOMKilled || st.Status == "dead" {
		return false, nil, "crashed", detail
	}
	return false, nil, "not_running", detail
}
