// Package server is Parley's HTTP(S) front door: it serves the frontend to
// browser guests and the signaling WebSocket to every participant.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Config configures a Server.
type Config struct {
	// Addr is the TCP address to listen on; port 0 picks a free one.
	Addr string
	// Assets is the built frontend (frontend/dist).
	Assets fs.FS
	Log    *slog.Logger
}

// Server hosts rooms. Create with New, start with Listen, stop with Shutdown.
type Server struct {
	cfg  Config
	http *http.Server
	ln   net.Listener
}

// New checks the configuration and builds the handler; it does not listen.
func New(cfg Config) (*Server, error) {
	if cfg.Assets == nil {
		return nil, errors.New("server: no frontend assets")
	}
	if _, err := fs.Stat(cfg.Assets, "index.html"); err != nil {
		return nil, fmt.Errorf("server: frontend assets have no index.html (run make build): %w", err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Server{cfg: cfg}
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static := http.FileServerFS(s.cfg.Assets)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	// A guest's invite link points at /r/ROOM: the page is the same app,
	// which reads the room from its own URL.
	mux.HandleFunc("GET /r/{room}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, s.cfg.Assets, "index.html")
	})
	mux.Handle("GET /", static)
	return mux
}

// Listen binds the address and serves in the background until Shutdown.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// URL is the base URL the server can be reached at.
func (s *Server) URL() string {
	return "http://" + s.ln.Addr().String() + "/"
}

// Shutdown stops accepting connections and waits for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.http.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
