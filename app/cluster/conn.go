package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"cutout/internal/quote"
)

// Dial says how to reach the queue server.
type Dial struct {
	// URL is nats://HOST:PORT (or tls://); ignored with InProcess.
	URL string
	// Token is the server's token.
	Token string
	// CAFile, when set, is the certificate authority the server's TLS certificate must come
	// from (otherwise the system's).
	CAFile string
	// Name tells the server who is connecting (shown in its logs).
	Name string
	// InProcess connects to this process's own server without a socket.
	InProcess *Server
	// Log receives a line when the connection is lost and when it is back.
	Log io.Writer
}

// Conn is a connection to the queue server that reconnects on its own, for ever, until the
// server refuses its token.
type Conn struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	url    string
	closed chan struct{}
	mu     sync.Mutex
	err    error // why the connection closed
}

// ErrAuth is a refused token.
var ErrAuth = errors.New("the queue server refused the token")

// ErrUnavailable marks a failure of the queue, not of a job: no server, no worker.
var ErrUnavailable = errors.New("the queue is unavailable")

type unavailable struct{ msg string }

func (e *unavailable) Error() string { return e.msg }
func (e *unavailable) Unwrap() error { return ErrUnavailable }

func unavailablef(format string, args ...any) error {
	return &unavailable{fmt.Sprintf(format, args...)}
}

// Connect dials the server; while it cannot be reached it tries again every second (saying
// so once on Log) until ctx ends. A refused token ends it at once with ErrAuth.
func Connect(ctx context.Context, d Dial) (*Conn, error) {
	c := &Conn{url: d.URL, closed: make(chan struct{})}
	log := d.Log
	if log == nil {
		log = io.Discard
	}
	opts := []nats.Option{
		nats.Token(d.Token), nats.Name(d.Name), nats.MaxReconnects(-1), nats.ReconnectWait(500 * time.Millisecond),
		nats.Timeout(5 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				fmt.Fprintf(log, "queue: lost the server at %s (%s); reconnecting\n", quote.Name(c.url), quote.Text(errorText(err)))
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { fmt.Fprintf(log, "queue: reconnected to %s\n", quote.Name(c.url)) }),
		nats.ClosedHandler(func(nc *nats.Conn) {
			c.mu.Lock()
			c.err = nc.LastError()
			c.mu.Unlock()
			close(c.closed)
		}),
	}
	if d.CAFile != "" {
		opts = append(opts, nats.RootCAs(d.CAFile))
	}
	if d.InProcess != nil {
		opts = append(opts, nats.InProcessServer(d.InProcess.s))
		c.url = d.InProcess.url
	}
	said := false
	for {
		nc, err := nats.Connect(d.URL, opts...)
		if err == nil {
			c.nc = nc
			break
		}
		if authError(err) {
			return nil, fmt.Errorf("%w at %s (%s)", ErrAuth, quote.Name(c.url), quote.Text(errorText(err)))
		}
		if d.CAFile != "" && strings.Contains(err.Error(), "certificate") {
			return nil, fmt.Errorf("the queue server at %s: %s", quote.Name(c.url), quote.Text(errorText(err)))
		}
		if !said {
			fmt.Fprintf(log, "queue: waiting for the server at %s (%s)\n", quote.Name(c.url), quote.Text(errorText(err)))
			said = true
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(time.Second):
		}
	}
	js, err := jetstream.New(c.nc)
	if err != nil {
		c.nc.Close()
		return nil, err
	}
	c.js = js
	return c, nil
}

// authError reports whether err is the server refusing the credentials.
func authError(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || strings.Contains(strings.ToLower(err.Error()), "authorization violation")
}

// Closed is closed when the connection has ended for good (Close, or the server refusing
// the token on a reconnect); Err then says why.
func (c *Conn) Closed() <-chan struct{} { return c.closed }

// Err is why the connection closed: ErrAuth when the server refused the token.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil && authError(c.err) {
		return fmt.Errorf("%w at %s", ErrAuth, quote.Name(c.url))
	}
	return c.err
}

// Connected reports whether the server is reachable now.
func (c *Conn) Connected() bool { return c.nc.IsConnected() }

// URL is the server's address, for messages.
func (c *Conn) URL() string { return c.url }

// Close ends the connection.
func (c *Conn) Close() { c.nc.Close() }

// tokenFile is where a hub without --token-file keeps its generated token (in OUT).
const tokenFile = ".cutout-token"

// TokenFile is the generated token's name inside the output folder.
func TokenFile() string { return tokenFile }

// ReadToken reads a token file: at most 4 KiB, surrounding white space dropped. A file that
// others may read is refused, as SSH refuses such keys: the token is the queue's only lock.
func ReadToken(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return "", fmt.Errorf("the token file %s cannot be read: %s", quote.Name(path), quote.Text(reason(err)))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("the token file %s is not a regular file", quote.Name(path))
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("the token file %s may be read by other users (mode %#o); make it private with chmod 600", quote.Name(path), fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, 4<<10+1))
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(string(b))
	switch {
	case len(b) > 4<<10:
		return "", fmt.Errorf("the token file %s is over 4 KiB: not a token", quote.Name(path))
	case t == "" || strings.ContainsAny(t, " \t\r\n"):
		return "", fmt.Errorf("the token file %s holds no token (one line, no spaces)", quote.Name(path))
	}
	return t, nil
}

// EnsureToken reads the token at path, or, when there is no file there, makes one (256
// random bits, mode 0600) and reports that it did.
func EnsureToken(path string) (token string, made bool, err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, os.ErrExist) {
		t, err := ReadToken(path)
		return t, false, err
	}
	if err != nil {
		return "", false, fmt.Errorf("the token file %s cannot be made: %s", quote.Name(path), quote.Text(reason(err)))
	}
	b := make([]byte, 32)
	rand.Read(b)
	t := hex.EncodeToString(b)
	_, err = f.WriteString(t + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", false, fmt.Errorf("the token file %s cannot be written: %s", quote.Name(path), quote.Text(reason(err)))
	}
	return t, true, nil
}

// reason is a path error's reason without the path (the sentence names the file).
func reason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
