// Reference JSON-RPC server on Go's standard library (net/http +
// encoding/json), decoding into structs the way Go MCP SDKs do: keys match
// case-insensitively (with Unicode folding: "Method", "NAME", U+017F for
// "s"), the last duplicate wins, any method and path, net/http's own
// chunked decoding. Every tools/call of a tool it has is executed and
// appended to the record file as {"server":"go","tool":...,"arguments":...}
// before it answers.
//
//	go-server PORT RECORD_FILE        prints "listening PORT" when ready
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
)

type message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"params"`
}

var tools = map[string]bool{"echo": true, "rm": true, "secret": true}

func main() {
	record, err := os.OpenFile(os.Args[2], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		panic(err)
	}
	var mu sync.Mutex
	execute := func(m message) map[string]any {
		if m.Method != "tools/call" {
			return nil
		}
		if !tools[m.Params.Name] {
			return map[string]any{"jsonrpc": "2.0", "id": m.ID, "error": map[string]any{"code": -32602, "message": "no such tool"}}
		}
		args := m.Params.Arguments
		if len(args) == 0 {
			args = json.RawMessage("null")
		}
		line, _ := json.Marshal(map[string]any{"server": "go", "tool": m.Params.Name, "arguments": args})
		mu.Lock()
		record.Write(append(line, '\n'))
		mu.Unlock()
		return map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": map[string]any{"content": []any{map[string]any{"type": "text", "text": "ran " + m.Params.Name}}}}
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var out any = map[string]any{}
		if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
			var batch []message
			replies := []any{}
			if json.Unmarshal(raw, &batch) == nil {
				for _, m := range batch {
					if reply := execute(m); reply != nil {
						replies = append(replies, reply)
					}
				}
			}
			out = replies
		} else {
			var m message
			if json.Unmarshal(raw, &m) == nil {
				if reply := execute(m); reply != nil {
					out = reply
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		panic(err)
	}
	fmt.Println("listening", os.Args[1])
	panic(http.Serve(ln, nil))
}
