package bench

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Process is a server process measured through /proc, so that the bots'
// own work is never counted against it.
type Process struct{ PID int }

// Usage is a process's CPU time so far and its memory.
type Usage struct {
	CPU          time.Duration
	RSS, PeakRSS uint64 // bytes
}

// clockTicks is USER_HZ, which Linux fixes at 100 for /proc.
const clockTicks = 100

// Usage reads /proc/PID/stat and /proc/PID/status.
func (p *Process) Usage() (Usage, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return Usage{}, fmt.Errorf("read cpu of %d: %w", p.PID, err)
	}
	// Fields after the command name (which may hold spaces): state is
	// field 3, utime 14, stime 15.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return Usage{}, fmt.Errorf("short /proc/%d/stat", p.PID)
	}
	utime, _ := strconv.ParseUint(f[11], 10, 64)
	stime, _ := strconv.ParseUint(f[12], 10, 64)
	u := Usage{CPU: time.Duration(utime+stime) * time.Second / clockTicks}
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", p.PID))
	if err != nil {
		return u, fmt.Errorf("read memory of %d: %w", p.PID, err)
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		switch key {
		case "VmRSS":
			u.RSS = kb * 1024
		case "VmHWM":
			u.PeakRSS = kb * 1024
		}
	}
	return u, sc.Err()
}

// scrapeCounter reads one unlabelled counter from a Prometheus endpoint.
func scrapeCounter(url, name string, insecure bool) (float64, error) {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: insecure}, //nolint:gosec // the bench's own loopback server
	}}
	resp, err := hc.Get(url)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + ` (\S+)$`)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			return strconv.ParseFloat(m[1], 64)
		}
	}
	return 0, fmt.Errorf("scrape %s: no %s", url, name)
}
