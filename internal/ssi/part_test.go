package ssi

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPartKeepsOrderPastMemory: bytes written past PartMemory go to the
// temporary file and come out after those in memory, in order, whether
// drained as they come (memory then suffices) or at the end.
func TestPartKeepsOrderPastMemory(t *testing.T) {
	var want bytes.Buffer
	for i := 0; want.Len() < 3*PartMemory; i++ {
		want.WriteString(strings.Repeat(string(rune('a'+i%26)), 1000+i))
	}
	for _, drainEvery := range []int{0, 1, 7} {
		p := NewPart(t.TempDir())
		var got bytes.Buffer
		src := want.Bytes()
		for i := 0; len(src) > 0; i++ {
			n := min(len(src), 5000)
			if _, err := p.Write(src[:n]); err != nil {
				t.Fatal(err)
			}
			src = src[n:]
			if drainEvery > 0 && i%drainEvery == 0 {
				if _, err := p.drain(&got); err != nil {
					t.Fatal(err)
				}
			}
		}
		if drainEvery == 0 && p.file == nil {
			t.Fatalf("drain every %d: no temporary file after %d bytes", drainEvery, want.Len())
		}
		p.Finish(nil)
		done, err := p.drain(&got)
		if err != nil || !done {
			t.Fatalf("drain every %d: done %v, err %v", drainEvery, done, err)
		}
		p.release(true)
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("drain every %d: %d bytes out of order (want %d)", drainEvery, got.Len(), want.Len())
		}
	}
}

// TestPartCancel: a canceled part's writes fail and its stop runs; its
// finish function is told the output did not go out.
func TestPartCancel(t *testing.T) {
	p := NewPart("")
	stopped := false
	p.SetStop(func() { stopped = true })
	p.Write([]byte("x"))
	p.Cancel()
	if _, err := p.Write([]byte("y")); !errors.Is(err, ErrCanceled) {
		t.Errorf("write after Cancel: %v, want ErrCanceled", err)
	}
	if !stopped {
		t.Error("Cancel did not stop the include")
	}
	var ok *bool
	p.Finish(func(b bool) { ok = &b })
	p.release(false)
	if ok == nil || *ok {
		t.Errorf("finish told %v, want false", ok)
	}
}

// startEnv is an Env whose includes run on goroutines: each waits until
// its gate opens and writes "<uri>".
type startEnv struct {
	testEnv
	mu      sync.Mutex
	gates   map[string]chan struct{}
	started []string
	wg      sync.WaitGroup
	done    chan struct{}
}

func (e *startEnv) gate(uri string) chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gates == nil {
		e.gates = map[string]chan struct{}{}
	}
	g, ok := e.gates[uri]
	if !ok {
		g = make(chan struct{})
		e.gates[uri] = g
	}
	return g
}

func (e *startEnv) Start(uri, args string, stub []byte, part *Part) error {
	e.mu.Lock()
	e.started = append(e.started, uri)
	e.mu.Unlock()
	g := e.gate(uri)
	stop := make(chan struct{})
	var once sync.Once
	part.SetStop(func() { once.Do(func() { close(stop) }) })
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		part.Yield() // waits on "an upstream"
		select {
		case <-g:
			io.WriteString(part, "<"+uri+">")
		case <-stop:
		}
		part.Finish(nil)
	}()
	part.WaitStarted(nil)
	return nil
}

func (e *startEnv) Done() <-chan struct{} { return e.done }

// TestFilterStartsIncludesAtOnce: the includes of a write all start before
// any ends, and their output goes out in the page's order whatever order
// they end in, the text between them waiting its turn.
func TestFilterStartsIncludesAtOnce(t *testing.T) {
	env := &startEnv{testEnv: testEnv{uri: "/p.html"}}
	var out bytes.Buffer
	var f Filter
	f.Reset(&out, env, nil, Options{})
	f.Write([]byte(`A<!--#include virtual="/one" -->B<!--#include virtual="/two" -->C`))
	if got := strings.Join(env.started, ","); got != "/one,/two" {
		t.Fatalf("started %q before any ended, want both", got)
	}
	if out.String() != "A" {
		t.Errorf("out %q before the includes ended, want %q", out.String(), "A")
	}
	close(env.gate("/two")) // the second ends first: it waits for the first
	closed := make(chan error)
	go func() { closed <- f.Close() }()
	close(env.gate("/one"))
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "A</one>B</two>C"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestFilterDiscardEndsIncludes: a response given up (the client gone)
// stops its includes and waits for their goroutines.
func TestFilterDiscardEndsIncludes(t *testing.T) {
	env := &startEnv{testEnv: testEnv{uri: "/p.html"}, done: make(chan struct{})}
	var out bytes.Buffer
	var f Filter
	f.Reset(&out, env, nil, Options{})
	f.Write([]byte(`A<!--#include virtual="/one" -->B<!--#include virtual="/two" -->C`))
	closed := make(chan error)
	go func() { closed <- f.Close() }()
	close(env.done)
	select {
	case err := <-closed:
		if !errors.Is(err, ErrAborted) {
			t.Errorf("Close: %v, want ErrAborted", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return once the client went away")
	}
	env.wg.Wait() // every include's goroutine ended
	if out.String() != "A" {
		t.Errorf("out %q, want only what went before the includes", out.String())
	}
}
