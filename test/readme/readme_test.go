package readme

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/format"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/plugin"

	"github.com/velocitykode/velocity/internal/testenv"
)

// requireEnv turns a missing prerequisite (the go command) from a skip
// into a failure.
const requireEnv = "VELOCITY_REQUIRE_SERVICES"

// readmePath is the README, relative to this package's directory.
const readmePath = "../../README.md"

// Bounds of the waits. A wait ends as soon as its condition holds; these
// are generous for a loaded 2-core machine and a cold build cache.
const (
	buildTimeout = 5 * time.Minute
	startTimeout = 30 * time.Second
	readTimeout  = 10 * time.Second
	stopTimeout  = 15 * time.Second
)

func TestQuickstart(t *testing.T) {
	root := repoRoot(t)
	src := snippet(t, readFile(t, filepath.Join(root, "README.md")), "quickstart", "go")

	formatted, err := format.Source([]byte(src))
	if err != nil {
		t.Fatalf("the Quick start snippet does not parse: %v", err)
	}
	if string(formatted) != src {
		t.Errorf("the Quick start snippet is not gofmt-clean: %s", firstDiff(src, string(formatted)))
	}
	documented := documentedRoutes(t, src)
	if want := mountedRoutes(t); !slices.Equal(documented, want) {
		t.Errorf("the comment on p.Register lists\n  %s\nbut Register mounts\n  %s",
			strings.Join(documented, "\n  "), strings.Join(want, "\n  "))
	}

	goBin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv(requireEnv) != "" {
			t.Fatalf("the go command is not on PATH (%s is set): %v", requireEnv, err)
		}
		t.Skip("skipping: the go command is not on PATH, and building the Quick start needs it")
	}
	bin := buildQuickstart(t, goBin, root, src)
	app := startQuickstart(t, bin)

	t.Run("routes", func(t *testing.T) {
		// Every route the comment lists answers, with anything but the 404
		// or 405 of a route that is not mounted.
		for _, r := range documented {
			method, path, _ := strings.Cut(r, " ")
			req, err := http.NewRequest(method, app.base+fillParams(path), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", r, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
				t.Errorf("%s: HTTP %d, as if it were not mounted", r, resp.StatusCode)
			}
		}
	})

	t.Run("ship", func(t *testing.T) {
		wsURL := "ws" + strings.TrimPrefix(app.base, "http") + "/ws"
		asker, other := dial(t, wsURL), dial(t, wsURL)
		asker.subscribe(t, "orders")
		other.subscribe(t, "orders")

		// The browser that ships the order sends its socket id: everyone
		// else on "orders" gets the event, it does not.
		app.ship(t, "7", asker.socketID)
		f := other.next(t)
		if f.Type != "OrderShipped" || f.Channel != "orders" {
			t.Fatalf("subscriber got %s, want OrderShipped on orders", f.raw)
		}
		var data struct {
			OrderID  string `json:"order_id"`
			Tracking string `json:"tracking"`
		}
		if err := json.Unmarshal(f.Data, &data); err != nil || data.OrderID != "7" || data.Tracking != "ABC123" {
			t.Fatalf("OrderShipped data %s, want order_id 7 and tracking ABC123 (%v)", f.Data, err)
		}

		// Without X-Socket-ID everyone gets it. Frames of one channel
		// arrive in order, so the asker's first frame being order 8 shows
		// it never got order 7.
		app.ship(t, "8", "")
		for _, c := range []*wsClient{asker, other} {
			f := c.next(t)
			if f.Type != "OrderShipped" || !strings.Contains(string(f.Data), `"order_id":"8"`) {
				t.Fatalf("socket %s got %s, want OrderShipped of order 8", c.socketID, f.raw)
			}
		}
	})

	app.stop(t)
}

// repoRoot is the absolute path of the module this package belongs to.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Dir(filepath.FromSlash(readmePath)))
	if err != nil {
		t.Fatal(err)
	}
	mod := readFile(t, filepath.Join(root, "go.mod"))
	if !strings.HasPrefix(mod, "module github.com/velocitykode/velocity\n") {
		t.Fatalf("%s is not the root of github.com/velocitykode/velocity", root)
	}
	return root
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// snippet returns the fenced block of lang that follows the marker
// <!-- test: name --> in markdown, without its fences.
func snippet(t *testing.T, markdown, name, lang string) string {
	t.Helper()
	marker := "<!-- test: " + name + " -->"
	if n := strings.Count(markdown, marker); n != 1 {
		t.Fatalf("README.md has %d %q markers, want 1", n, marker)
	}
	_, rest, _ := strings.Cut(markdown, marker+"\n")
	rest = strings.TrimLeft(rest, "\n")
	fence := "```" + lang + "\n"
	if !strings.HasPrefix(rest, fence) {
		t.Fatalf("%q is not followed by a %q fence", marker, strings.TrimSpace(fence))
	}
	body, _, ok := strings.Cut(rest[len(fence):], "\n```\n")
	if !ok {
		t.Fatalf("the block after %q has no closing fence", marker)
	}
	return body + "\n"
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d is %q, gofmt makes it %q", i+1, gl, wl)
		}
	}
	return "they differ"
}

// routeRe matches "GET /path" (also "GET|HEAD /path") in a comment.
var routeRe = regexp.MustCompile(`\b((?:GET|HEAD|POST|PUT|PATCH|DELETE)(?:\|(?:GET|HEAD|POST|PUT|PATCH|DELETE))*)\s+(/[^\s,]*)`)

// documentedRoutes returns the routes listed, as sorted "METHOD /path"
// lines, in the comment right above p.Register(e) in src.
func documentedRoutes(t *testing.T, src string) []string {
	t.Helper()
	lines := strings.Split(src, "\n")
	at := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "p.Register(e)" })
	if at < 0 {
		t.Fatal("the Quick start has no p.Register(e) line")
	}
	var routes []string
	for i := at - 1; i >= 0 && strings.HasPrefix(strings.TrimSpace(lines[i]), "//"); i-- {
		for _, m := range routeRe.FindAllStringSubmatch(lines[i], -1) {
			for _, method := range strings.Split(m[1], "|") {
				routes = append(routes, method+" "+m[2])
			}
		}
	}
	if len(routes) == 0 {
		t.Fatal("the comment above p.Register(e) lists no routes")
	}
	slices.Sort(routes)
	return slices.Compact(routes)
}

// mountedRoutes returns what Register mounts with the default
// configuration, as sorted "METHOD /path" lines.
func mountedRoutes(t *testing.T) []string {
	t.Helper()
	cfg, err := plugin.FromLookup(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	p, err := plugin.New(cfg, plugin.WithBroadcaster(broadcast.New(nil)), plugin.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	}()
	e := echo.New()
	p.Register(e)
	var routes []string
	for _, r := range e.Routes() {
		routes = append(routes, r.Method+" "+r.Path)
	}
	slices.Sort(routes)
	return slices.Compact(routes)
}

// fillParams gives the :params of a route path values that the default
// configuration accepts.
func fillParams(path string) string {
	return strings.NewReplacer(":key", "velocity-key", ":id", "velocity", ":name", "orders", ":uid", "1").Replace(path)
}

// buildQuickstart builds src as main.go of a module "quickstart" that
// requires this repository through a replace directive. GOPROXY=off: the
// dependencies come from the module cache, checked against the
// repository's go.sum.
func buildQuickstart(t *testing.T, goBin, root, src string) string {
	t.Helper()
	dir := t.TempDir()
	goLine := regexp.MustCompile(`(?m)^go \S+$`).FindString(readFile(t, filepath.Join(root, "go.mod")))
	if goLine == "" {
		t.Fatal("go.mod has no go directive")
	}
	mod := fmt.Sprintf("module quickstart\n\n%s\n\nrequire github.com/velocitykode/velocity v0.0.0\n\nreplace github.com/velocitykode/velocity => %s\n",
		goLine, filepath.ToSlash(root))
	files := map[string]string{
		"go.mod":  mod,
		"go.sum":  readFile(t, filepath.Join(root, "go.sum")),
		"main.go": src,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "quickstart")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	env := append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	for _, args := range [][]string{{"build", "-o", bin, "."}, {"vet", "."}} {
		cmd := exec.CommandContext(ctx, goBin, args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s of the Quick start: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return bin
}

// quickstart is the running program.
type quickstart struct {
	cmd    *exec.Cmd
	base   string        // http://127.0.0.1:PORT
	exited chan struct{} // closed when the process has ended
	err    error         // its exit status, once exited is closed
	out    *testenv.Buffer
}

// startQuickstart runs bin with ADDR on a free loopback port and waits
// until GET /broadcasting/health answers 200. A port taken between
// choosing and binding it is retried with another.
func startQuickstart(t *testing.T, bin string) *quickstart {
	t.Helper()
	for attempt := 1; ; attempt++ {
		app := launch(t, bin, freeAddr(t))
		err := app.waitHealthy()
		if err == nil {
			return app
		}
		app.kill()
		if attempt == 3 || !strings.Contains(app.out.String(), "address already in use") {
			t.Fatalf("the Quick start did not come up: %v\n%s", err, app.out)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// launch starts bin in an empty directory (no .env) with the plugin's
// variables removed from the environment, so that it runs on the
// defaults, and ADDR set to addr.
func launch(t *testing.T, bin, addr string) *quickstart {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "ADDR" || name == "REDIS_URL" || strings.HasPrefix(name, "BROADCAST_") ||
			strings.HasPrefix(name, "WEBSOCKET_") || strings.HasPrefix(name, "JWT_") {
			continue
		}
		env = append(env, kv)
	}
	app := &quickstart{
		cmd:    exec.Command(bin),
		base:   "http://" + addr,
		exited: make(chan struct{}),
		out:    &testenv.Buffer{},
	}
	app.cmd.Dir = t.TempDir()
	app.cmd.Env = append(env, "ADDR="+addr)
	app.cmd.Stdout, app.cmd.Stderr = app.out, app.out
	if err := app.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		app.err = app.cmd.Wait()
		close(app.exited)
	}()
	t.Cleanup(func() {
		app.kill()
		if t.Failed() {
			t.Logf("Quick start output:\n%s", app.out)
		}
	})
	return app
}

// waitHealthy polls GET /broadcasting/health until it answers 200, the
// process ends or startTimeout passes.
func (a *quickstart) waitHealthy() error {
	deadline := time.Now().Add(startTimeout)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(a.base + "/broadcasting/health")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("health: HTTP %d", resp.StatusCode)
		}
		select {
		case <-a.exited:
			return fmt.Errorf("the program exited (%v)", a.err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no healthy answer within %s: %v", startTimeout, err)
		}
	}
}

// ship calls the snippet's endpoint, with X-Socket-ID when socketID is set.
func (a *quickstart) ship(t *testing.T, order, socketID string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.base+"/orders/"+order+"/ship", nil)
	if err != nil {
		t.Fatal(err)
	}
	if socketID != "" {
		req.Header.Set("X-Socket-ID", socketID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /orders/%s/ship: HTTP %d %s, want 204", order, resp.StatusCode, body)
	}
}

// stop interrupts the program, as Ctrl-C would, and expects it to shut
// down cleanly; where interrupts cannot be sent, it kills it.
func (a *quickstart) stop(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" || a.cmd.Process.Signal(os.Interrupt) != nil {
		a.kill()
		return
	}
	select {
	case <-a.exited:
		if a.err != nil {
			t.Errorf("the Quick start did not exit cleanly on an interrupt: %v\n%s", a.err, a.out)
		}
	case <-time.After(stopTimeout):
		a.kill()
		t.Errorf("the Quick start did not stop within %s of an interrupt\n%s", stopTimeout, a.out)
	}
}

// kill ends the process if it still runs and waits for it.
func (a *quickstart) kill() {
	select {
	case <-a.exited:
		return
	default:
	}
	_ = a.cmd.Process.Kill()
	<-a.exited
}

// wsClient is a native-protocol client of the program.
type wsClient struct {
	ws       *websocket.Conn
	socketID string
}

type frame struct {
	Type    string          `json:"type"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	raw     string
}

func dial(t *testing.T, url string) *wsClient {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", url, err, status)
	}
	t.Cleanup(func() { ws.Close() })
	c := &wsClient{ws: ws}
	f := c.next(t)
	var d struct {
		SocketID string `json:"socket_id"`
	}
	if err := json.Unmarshal(f.Data, &d); f.Type != "connected" || err != nil || d.SocketID == "" {
		t.Fatalf("first frame %s, want connected with a socket id", f.raw)
	}
	c.socketID = d.SocketID
	return c
}

func (c *wsClient) subscribe(t *testing.T, channel string) {
	t.Helper()
	if err := c.ws.WriteJSON(map[string]any{"type": "subscribe", "data": map[string]string{"channel": channel}}); err != nil {
		t.Fatal(err)
	}
	if f := c.next(t); f.Type != "subscription_succeeded" || f.Channel != channel {
		t.Fatalf("subscribe %s: got %s", channel, f.raw)
	}
}

// next reads the next frame, waiting readTimeout at most.
func (c *wsClient) next(t *testing.T) frame {
	t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(readTimeout))
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("socket %s: no frame within %s", c.socketID, readTimeout)
		}
		t.Fatalf("socket %s: read: %v", c.socketID, err)
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("server sent invalid JSON %q: %v", data, err)
	}
	f.raw = string(data)
	return f
}
