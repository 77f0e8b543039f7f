package cluster

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"cutout/internal/quote"
)

// ServerConfig is the hub's embedded NATS server.
type ServerConfig struct {
	// Addr is host:port, the one address it listens on (":4222" is every interface).
	Addr string
	// Token is required of every client; Serve refuses to start without one.
	Token string
	// StoreDir holds JetStream's files, so that queued jobs survive a restart.
	StoreDir string
	// TLSCert and TLSKey, both or neither, make clients speak TLS.
	TLSCert, TLSKey string
}

// Server is a running embedded NATS server with JetStream.
type Server struct {
	s   *server.Server
	url string
}

// maxPayload caps one message on the server (objects travel in 128 KiB chunks).
const maxPayload = 1 << 20

// Serve starts the server and waits until it takes connections. It listens on no other
// port: no monitoring, clustering, gateways, leaf nodes or websockets.
func Serve(c ServerConfig) (*Server, error) {
	if c.Token == "" {
		return nil, errors.New("the queue server needs a token")
	}
	host, p, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return nil, fmt.Errorf("the address %s is not host:port", quote.Name(c.Addr))
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("the address %s has no valid port", quote.Name(c.Addr))
	}
	opts := &server.Options{
		ServerName:         "cutout-hub",
		Host:               host,
		Port:               port,
		Authorization:      c.Token,
		JetStream:          true,
		StoreDir:           c.StoreDir,
		JetStreamMaxMemory: 64 << 20, // every stream is on disk
		MaxPayload:         maxPayload,
		NoSigs:             true,
		NoLog:              true,
	}
	if host == "" {
		opts.Host = "0.0.0.0"
	}
	if port == 0 {
		opts.Port = server.RANDOM_PORT // the server's 0 means its default port
	}
	scheme := "nats"
	if c.TLSCert != "" || c.TLSKey != "" {
		if c.TLSCert == "" || c.TLSKey == "" {
			return nil, errors.New("TLS needs both a certificate and its key")
		}
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: c.TLSCert, KeyFile: c.TLSKey})
		if err != nil {
			return nil, fmt.Errorf("the TLS certificate %s or key %s: %s", quote.Name(c.TLSCert), quote.Name(c.TLSKey), quote.Text(err.Error()))
		}
		opts.TLS, opts.TLSConfig, opts.TLSTimeout = true, tc, 5
		scheme = "tls"
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("the queue server: %s", quote.Text(err.Error()))
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("the queue server could not listen on %s (in use, or not an address of this machine?)", quote.Name(c.Addr))
	}
	addr := c.Addr
	if a, ok := s.Addr().(*net.TCPAddr); ok && port == 0 {
		addr = net.JoinHostPort(host, strconv.Itoa(a.Port))
	}
	return &Server{s: s, url: scheme + "://" + addr}, nil
}

// URL is the address clients dial (with the port chosen when Addr asked for port 0).
func (s *Server) URL() string { return s.url }

// Close stops the server; JetStream's files stay for the next start.
func (s *Server) Close() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
}
