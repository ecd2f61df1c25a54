package backend

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// maxSSELine bounds one line of the event stream; a server sending more is
// broken (a reply chunk is a few hundred bytes).
const maxSSELine = 4 << 20

// sseReader reads a chat-completion event stream. We read the body
// ourselves rather than through go-openai's stream reader, which cannot
// tell a dropped connection from [DONE] (both are io.EOF) and loses an
// in-stream error event that follows a keep-alive comment.
//
// It follows the SSE framing servers actually send: each `data:` line is
// one event (OpenAI-compatible servers never split JSON over lines), blank
// lines separate events, lines starting with ':' are comments (OpenRouter's
// ": OPENROUTER PROCESSING" keep-alives), `event:`, `id:` and `retry:`
// fields are read or ignored, and a bare JSON line (a server writing an
// error object without framing) counts as data.
type sseReader struct {
	r         *bufio.Reader
	errorNext bool  // the last field was `event: error`
	err       error // the read error to return once the last event is out
}

// sseEvent is one data payload.
type sseEvent struct {
	data  []byte
	done  bool // data: [DONE]
	error bool // sent as `event: error`
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 16<<10)}
}

// next returns the next event; io.EOF when the body ended cleanly, any
// other error as the body's reader reported it.
// A last line cut off without its newline is dropped (the stream was cut
// mid-event) unless it is whole anyway: [DONE] or a complete JSON object.
func (s *sseReader) next() (sseEvent, error) {
	for s.err == nil {
		line, complete, err := s.line()
		s.err = err
		if len(line) == 0 || !complete && !wholeLine(line) {
			continue
		}
		if ev, ok := s.field(line); ok {
			return ev, nil
		}
	}
	return sseEvent{}, s.err
}

func wholeLine(line []byte) bool {
	if _, v, ok := bytes.Cut(line, []byte(":")); ok && string(bytes.TrimSpace(v)) == "[DONE]" {
		return true
	}
	i := bytes.IndexByte(line, '{')
	return i >= 0 && json.Valid(line[i:])
}

// field interprets one non-empty line.
func (s *sseReader) field(line []byte) (sseEvent, bool) {
	switch {
	case line[0] == ':':
		return sseEvent{}, false // comment / keep-alive
	case line[0] == '{':
		return sseEvent{data: line, error: s.takeError()}, true
	}
	name, value, _ := bytes.Cut(line, []byte(":"))
	if len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	switch string(bytes.TrimSpace(name)) {
	case "data":
		value = bytes.TrimSpace(value)
		if len(value) == 0 {
			return sseEvent{}, false
		}
		if string(value) == "[DONE]" {
			return sseEvent{done: true}, true
		}
		return sseEvent{data: value, error: s.takeError()}, true
	case "event":
		s.errorNext = string(bytes.TrimSpace(value)) == "error"
	}
	return sseEvent{}, false
}

func (s *sseReader) takeError() bool {
	e := s.errorNext
	s.errorNext = false
	return e
}

// line reads one line without its terminator (\n, \r\n); complete is
// false when the body ended or failed before the newline. A line longer
// than maxSSELine is an error.
func (s *sseReader) line() (line []byte, complete bool, err error) {
	var buf []byte
	for {
		frag, err := s.r.ReadSlice('\n')
		if len(buf)+len(frag) > maxSSELine {
			return nil, false, fmt.Errorf("%w: an event-stream line longer than %d bytes", ErrMalformed, maxSSELine)
		}
		buf = append(buf, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		complete = len(buf) > 0 && buf[len(buf)-1] == '\n'
		return bytes.TrimRight(buf, "\r\n"), complete, err
	}
}
