package rtcconf

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// slogFactory sends pion's logs to slog. pion reports expected events
// (a peer that went away, a write after close) as errors, so everything
// it says is demoted to Debug: our own code reports what matters.
type slogFactory struct{ log *slog.Logger }

// SlogLoggerFactory returns a pion LoggerFactory writing to l at Debug.
func SlogLoggerFactory(l *slog.Logger) logging.LoggerFactory { return slogFactory{log: l} }

func (f slogFactory) NewLogger(scope string) logging.LeveledLogger {
	return slogLogger{log: f.log.With("pion", scope)}
}

type slogLogger struct{ log *slog.Logger }

func (l slogLogger) emit(msg string) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(msg)
	}
}

// emitf formats only when the message will be written: formatting is
// costly on hot paths, and pion passes some structs (a TrackRemote in
// onTrack) that its own goroutines are still writing, which the race
// detector rightly flags when they are formatted.
func (l slogLogger) emitf(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(format, args...))
	}
}

func (l slogLogger) Trace(msg string)                  {}
func (l slogLogger) Tracef(string, ...any)             {}
func (l slogLogger) Debug(msg string)                  { l.emit(msg) }
func (l slogLogger) Debugf(format string, args ...any) { l.emitf(format, args...) }
func (l slogLogger) Info(msg string)                   { l.emit(msg) }
func (l slogLogger) Infof(format string, args ...any)  { l.emit(fmt.Sprintf(format, args...)) }
func (l slogLogger) Warn(msg string)                   { l.emit(msg) }
func (l slogLogger) Warnf(format string, args ...any)  { l.emit(fmt.Sprintf(format, args...)) }
func (l slogLogger) Error(msg string)                  { l.emit(msg) }
func (l slogLogger) Errorf(format string, args ...any) { l.emitf(format, args...) }
