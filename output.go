package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// output writes a command's progress as text lines or, with --json, as
// JSON lines that scripts and tests read. Safe for concurrent use.
type output struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
}

// event writes one JSON object with "event": name and the fields, or, in
// text mode, the text line.
func (o *output) event(name string, fields map[string]any, text string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.json {
		if text != "" {
			fmt.Fprintln(o.w, text)
		}
		return
	}
	obj := make(map[string]any, len(fields)+1)
	for k, v := range fields {
		obj[k] = v
	}
	obj["event"] = name
	data, err := json.Marshal(obj)
	if err != nil {
		data = []byte(fmt.Sprintf(`{"event":"error","message":%q}`, err.Error()))
	}
	fmt.Fprintln(o.w, string(data))
}
