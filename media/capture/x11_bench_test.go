package capture

import (
	"syscall"
	"testing"

	"parley/testing/meetingtest"
)

// processCPUms is this process's CPU time so far. A screen grab's wall
// time includes the X server's work; the app pays only its own part.
func processCPUms() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
}

func benchmarkScreen(b *testing.B, read func() error) {
	c0 := processCPUms()
	b.ReportAllocs()
	for b.Loop() {
		if err := read(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((processCPUms()-c0)/float64(b.N), "cpu-ms/op")
}

// BenchmarkScreenGrab is one grab of a 1280×720 Xvfb screen, through
// shared memory and by GetImage.
func BenchmarkScreenGrab(b *testing.B) {
	b.Setenv("DISPLAY", meetingtest.StartXvfb(b, "1280x720", 0))
	for _, shared := range []bool{true, false} {
		name := "GetImage"
		if shared {
			name = "shm"
		}
		b.Run(name, func(b *testing.B) {
			r, err := openX11("", 1000)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			if !shared {
				r.dropSharedMemory()
			} else if r.shmMem == nil {
				b.Fatal("no shared memory with the X server")
			}
			benchmarkScreen(b, func() error {
				_, release, err := r.Read()
				release()
				return err
			})
		})
	}
}

// BenchmarkScreenSource is a screen grabbed, converted (a 1080p screen
// scaled down to 720p) and encoded with the screen settings (the screen
// is still: the encoder skips most of it).
func BenchmarkScreenSource(b *testing.B) {
	for _, size := range []string{"1280x720", "1920x1080"} {
		b.Run(size, func(b *testing.B) {
			b.Setenv("DISPLAY", meetingtest.StartXvfb(b, size, 0))
			src, err := OpenScreen("", Options{MaxWidth: 1280, MaxHeight: 720, FPS: 1000, Bitrate: 1_200_000, Screen: true})
			if err != nil {
				b.Fatal(err)
			}
			defer src.Close()
			benchmarkScreen(b, func() error { _, err := src.Read(); return err })
		})
	}
}
