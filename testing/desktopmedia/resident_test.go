package desktopmedia

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"parley/testing/meetingtest"
)

// TestResidentCountsSharedPagesOnce checks the benchmark's measure of
// memory on two idle processes of the same program: one alone agrees with
// the kernel's RSS (smaps), and together the pages they share (the program, libc)
// count once, not twice.
func TestResidentCountsSharedPagesOnce(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("page frame numbers need root")
	}
	// Start returns once the child runs sleep (Go waits for the exec).
	var pids []int
	for range 2 {
		child := exec.Command("sleep", "30")
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = child.Process.Kill()
			_ = child.Wait()
		})
		pids = append(pids, child.Process.Pid)
	}
	// Until sleep has loaded its libraries and sleeps, its pages change.
	for _, pid := range pids {
		settled(t, pid)
	}
	one := pids[:1]
	// smaps walks the page tables as the pagemap does; VmRSS lags for a
	// process just started (its counters are synced in batches).
	rss := memKB(one, "/smaps_rollup", "Rss:")
	alone := residentKB(one)
	if alone == 0 {
		t.Fatal("no page frames read as root")
	}
	if d := alone - rss; d > rss/10 || -d > rss/10 {
		t.Errorf("sleep holds %d kB by its pagemap, its smaps %d kB", alone, rss)
	}
	if twice := residentKB([]int{pids[0], pids[0]}); twice != alone {
		t.Errorf("the same process counted twice gives %d kB, once %d kB", twice, alone)
	}
	both, summed := residentKB(pids), memKB(pids, "/smaps_rollup", "Rss:")
	if both < alone || both > summed*3/4 {
		t.Errorf("two sleeps hold %d kB together, one %d kB, summed RSS %d kB: what they share should count once", both, alone, summed)
	}
	t.Logf("one sleep %d kB (RSS %d kB), two %d kB together, %d kB summed RSS", alone, rss, both, summed)
}

// settled waits until pid's resident memory stops changing.
func settled(t *testing.T, pid int) {
	t.Helper()
	last := int64(-1)
	stable := func() bool {
		now := memKB([]int{pid}, "/smaps_rollup", "Rss:")
		same := now == last
		last = now
		return same
	}
	if !meetingtest.WaitFor(2*time.Second, stable) {
		t.Fatalf("process %d's memory kept changing for 2 s", pid)
	}
}
