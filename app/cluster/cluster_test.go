package cluster

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const testToken = "s3cret-token"

var model = ModelToken("7001d60734fdc112dd9c062635fb59cd401fb82a9d4213134bce4dbd655c803a")

func init() {
	heartbeat, presenceTimeout = 100*time.Millisecond, time.Second
}

// serve starts a server on a free loopback port with its store in dir.
func serve(t *testing.T, dir, addr string) *Server {
	t.Helper()
	s, err := Serve(ServerConfig{Addr: addr, Token: testToken, StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func connect(t *testing.T, url string) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Connect(ctx, Dial{URL: url, Token: testToken, Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func coordinator(t *testing.T, c *Conn, cfg Config) *Coordinator {
	t.Helper()
	cfg.Model, cfg.MaxInput, cfg.MaxOutput = model, 1<<20, 1<<20
	co, err := NewCoordinator(context.Background(), c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(co.Close)
	return co
}

// startWorker runs a worker whose pipeline is process, until the test ends.
func startWorker(t *testing.T, c *Conn, id string, process Process) {
	t.Helper()
	w, err := NewWorker(c, WorkerConfig{ID: id, Model: model, Process: process})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// beacon makes a worker heard that takes no job.
func beacon(t *testing.T, c *Conn) {
	body, _ := json.Marshal(presence{ID: "beacon", Model: model, Slots: 1})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil {
			c.nc.Publish(presenceSubject, body)
			time.Sleep(heartbeat)
		}
	}()
}

// upper is a pipeline that makes its output from the input alone.
func upper(_ context.Context, _ *Job, in []byte, _ func(context.Context, string, int64) ([]byte, error)) ([]byte, error) {
	return bytes.ToUpper(in), nil
}

func job(name string, data []byte) Job {
	h := HashHex(data)
	return Job{Key: HashHex([]byte(h + "settings")), Name: name, Model: model, Settings: json.RawMessage(`{}`), Fingerprint: "f", Hash: h}
}

func submit(t *testing.T, co *Coordinator, j Job, data []byte) *Answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := co.Submit(ctx, j, data)
	if err != nil {
		t.Error(err) // from the test's goroutine or another
		return &Answer{Error: err.Error()}
	}
	return a
}

func TestSubmitAndAnswer(t *testing.T) {
	s := serve(t, t.TempDir(), "127.0.0.1:0")
	c := connect(t, s.URL())
	co := coordinator(t, c, Config{})
	startWorker(t, connect(t, s.URL()), "w1", upper)
	data := []byte("some bytes")
	j := job("a.png", data)
	a := submit(t, co, j, data)
	if a.Status != OK || string(a.Data) != "SOME BYTES" || a.Worker != "w1" {
		t.Fatalf("answer %+v", a)
	}
	co.Done(j.Key)
	ctx := context.Background()
	if _, err := co.inputs.GetInfo(ctx, j.Key); !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Errorf("the input is still in the store after Done: %v", err)
	}
	if _, err := co.results.GetLastMsgForSubject(ctx, resultsPrefix+j.Key); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Errorf("the answer is still on the server after Done: %v", err)
	}
}

// TestFailureAndLater: the pipeline's own failure comes back as Failed with its sentence; a
// failure marked Later comes back as Retry, and the next Submit puts the job in again.
func TestFailureAndLater(t *testing.T) {
	s := serve(t, t.TempDir(), "127.0.0.1:0")
	co := coordinator(t, connect(t, s.URL()), Config{})
	var calls atomic.Int32
	startWorker(t, connect(t, s.URL()), "w1", func(_ context.Context, j *Job, in []byte, _ func(context.Context, string, int64) ([]byte, error)) ([]byte, error) {
		n := calls.Add(1)
		switch {
		case j.Name == "bad.png":
			return nil, errors.New("bad.png is not an image")
		case n == 2:
			return nil, Later(errors.New("the engine could not start"))
		}
		return in, nil
	})
	if a := submit(t, co, job("bad.png", []byte("x")), []byte("x")); a.Status != Failed || a.Error != "bad.png is not an image" {
		t.Fatalf("answer %+v", a)
	}
	data := []byte("later")
	j := job("later.png", data)
	if a := submit(t, co, j, data); a.Status != Retry || !strings.Contains(a.Error, "could not start") {
		t.Fatalf("answer %+v", a)
	}
	if a := submit(t, co, j, data); a.Status != OK || string(a.Data) != "later" {
		t.Fatalf("answer after the retry %+v", a)
	}
}

// TestDeadWorkerRedelivered: a worker that takes a job and never answers (dead) loses it after
// the ack wait to one that does.
func TestDeadWorkerRedelivered(t *testing.T) {
	s := serve(t, t.TempDir(), "127.0.0.1:0")
	c := connect(t, s.URL())
	co := coordinator(t, c, Config{AckWait: 500 * time.Millisecond})
	data := []byte("orphan")
	j := job("orphan.png", data)
	done := make(chan *Answer, 1)
	beacon(t, c) // a worker is heard, but none takes the job yet
	go func() { done <- submit(t, co, j, data) }()
	dead := takeWithoutAnswer(t, c)
	startWorker(t, connect(t, s.URL()), "alive", upper)
	a := <-done
	if a.Status != OK || a.Worker != "alive" || string(a.Data) != "ORPHAN" {
		t.Fatalf("answer %+v (the dead worker had delivery %d)", a, dead)
	}
}

// takeWithoutAnswer takes the next job as a worker that then dies would, and returns its
// delivery count.
func takeWithoutAnswer(t *testing.T, c *Conn) uint64 {
	t.Helper()
	ctx := context.Background()
	cons, err := c.js.Consumer(ctx, JobsStream, consumerName(model))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		m, err := cons.Next(jetstream.FetchMaxWait(200 * time.Millisecond))
		if err == nil {
			meta, _ := m.Metadata()
			return meta.NumDelivered
		}
	}
	t.Fatal("no job was delivered")
	return 0
}

// TestPoisonGivenUp: a job that every worker dies on is given up after MaxDeliver deliveries,
// and the hub's answer says so.
func TestPoisonGivenUp(t *testing.T) {
	s := serve(t, t.TempDir(), "127.0.0.1:0")
	c := connect(t, s.URL())
	co := coordinator(t, c, Config{AckWait: 300 * time.Millisecond, MaxDeliver: 2})
	beacon(t, connect(t, s.URL()))
	data := []byte("poison")
	j := job("poison.png", data)
	done := make(chan *Answer, 1)
	go func() { done <- submit(t, co, j, data) }()
	takeWithoutAnswer(t, c)
	if n := takeWithoutAnswer(t, c); n != 2 {
		t.Fatalf("second delivery numbered %d", n)
	}
	// The server notices a job has run out of deliveries when it would deliver it again: to
	// a worker asking for jobs, which never gets this one.
	var ran atomic.Int32
	startWorker(t, connect(t, s.URL()), "w1", func(ctx context.Context, j *Job, in []byte, f func(context.Context, string, int64) ([]byte, error)) ([]byte, error) {
		ran.Add(1)
		return upper(ctx, j, in, f)
	})
	a := <-done
	if ran.Load() != 0 {
		t.Errorf("the given-up job ran %d more times", ran.Load())
	}
	if a.Status != Failed || !strings.Contains(a.Error, "handed to a worker 2 times") {
		t.Fatalf("answer %+v", a)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		info, err := co.jobs.Info(context.Background())
		if err == nil && info.State.Msgs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the given-up job is still queued: %+v, %v", info.State, err)
		}
	}
}

// TestHubRestartNotRepeated: a hub that stops while its job is queued and starts again finds
// the same job queued (not a second one) and then its answer.
func TestHubRestartNotRepeated(t *testing.T) {
	s := serve(t, t.TempDir(), "127.0.0.1:0")
	co := coordinator(t, connect(t, s.URL()), Config{})
	beacon(t, connect(t, s.URL()))
	data := []byte("queued")
	j := job("queued.png", data)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(300 * time.Millisecond); cancel() }()
	if _, err := co.Submit(ctx, j, data); !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit: %v", err)
	}
	co.Close()
	co2 := coordinator(t, connect(t, s.URL()), Config{})
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(300 * time.Millisecond); cancel2() }()
	co2.Submit(ctx2, j, data)
	info, _ := co2.jobs.Info(context.Background())
	if info.State.Msgs != 1 {
		t.Fatalf("%d jobs queued after the restart, want 1", info.State.Msgs)
	}
	var calls atomic.Int32
	startWorker(t, connect(t, s.URL()), "w1", func(ctx context.Context, j *Job, in []byte, f func(context.Context, string, int64) ([]byte, error)) ([]byte, error) {
		calls.Add(1)
		return upper(ctx, j, in, f)
	})
	if a := submit(t, co2, j, data); a.Status != OK || calls.Load() != 1 {
		t.Fatalf("answer %+v after %d runs", a, calls.Load())
	}
}

// TestServerRestart: the server stops and comes back on the same port and store; the queued
// job is still there, and hub and worker carry on over their reconnected connections.
func TestServerRestart(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	s := serve(t, dir, addr)
	co := coordinator(t, connect(t, s.URL()), Config{})
	wc := connect(t, s.URL())
	data := []byte("survivor")
	j := job("survivor.png", data)
	beacon(t, connect(t, s.URL()))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(300 * time.Millisecond); cancel() }()
	co.Submit(ctx, j, data)
	s.Close()
	time.Sleep(300 * time.Millisecond)
	serve(t, dir, addr)
	for deadline := time.Now().Add(20 * time.Second); !co.conn.Connected() || !wc.Connected(); {
		if time.Now().After(deadline) {
			t.Fatal("no reconnection")
		}
		time.Sleep(50 * time.Millisecond)
	}
	startWorker(t, wc, "w1", upper)
	if a := submit(t, co, j, data); a.Status != OK || string(a.Data) != "SURVIVOR" {
		t.Fatalf("answer %+v", a)
	}
}

// TestNoWorker: with no worker of the model the hub is told so, as not the file's fault.
func TestNoWorker(t *testing.T) {
	s := serve(t, t.TempDir(), "127.0.0.1:0")
	co := coordinator(t, connect(t, s.URL()), Config{})
	time.Sleep(presenceTimeout)
	data := []byte("nobody")
	_, err := co.Submit(context.Background(), job("nobody.png", data), data)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no worker") {
		t.Fatalf("Submit with no worker: %v", err)
	}
}

func TestWrongToken(t *testing.T) {
	s := serve(t, t.TempDir(), "127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Connect(ctx, Dial{URL: s.URL(), Token: "guess"})
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("a wrong token: %v", err)
	}
	if _, err := Serve(ServerConfig{Addr: "127.0.0.1:0", StoreDir: t.TempDir()}); err == nil {
		t.Fatal("a server without a token started")
	}
}

func TestTokenFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), TokenFile())
	tok, made, err := EnsureToken(p)
	if err != nil || !made || len(tok) != 64 {
		t.Fatalf("EnsureToken: %q %v %v", tok, made, err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if again, made, err := EnsureToken(p); again != tok || made || err != nil {
		t.Fatalf("second EnsureToken: %q %v %v", again, made, err)
	}
	os.Chmod(p, 0o644)
	if _, err := ReadToken(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a token readable by others: %v", err)
	}
}

// TestTLS: a server with a certificate is reached with its authority, and refused without.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	s, err := Serve(ServerConfig{Addr: "127.0.0.1:0", Token: testToken, StoreDir: dir, TLSCert: cert, TLSKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, Dial{URL: s.URL(), Token: testToken, CAFile: cert})
	if err != nil {
		t.Fatalf("with the authority: %v", err)
	}
	c.Close()
	short, cancel2 := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel2()
	if _, err := Connect(short, Dial{URL: s.URL(), Token: testToken}); err == nil {
		t.Fatal("connected without trusting the certificate")
	}
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cutout test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(k)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	return certFile, keyFile
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr())
}

// TestMalformedAnswer: an answer that is not well-formed is thrown away and taken for "try
// again", never for the file's result.
func TestMalformedAnswer(t *testing.T) {
	s := serve(t, t.TempDir(), "127.0.0.1:0")
	c := connect(t, s.URL())
	co := coordinator(t, c, Config{})
	data := []byte("forged")
	j := job("forged.png", data)
	body := fmt.Sprintf(`{"version":1,"key":%q,"status":"ok","worker":"x","size":3,"extra":true}`, j.Key)
	if _, err := c.js.Publish(context.Background(), resultsPrefix+j.Key, []byte(body)); err != nil {
		t.Fatal(err)
	}
	if a := submit(t, co, j, data); a.Status != Retry || !strings.Contains(a.Error, "could not be read") {
		t.Fatalf("answer %+v", a)
	}
	if _, err := co.results.GetLastMsgForSubject(context.Background(), resultsPrefix+j.Key); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Errorf("the malformed answer is still there: %v", err)
	}
}
