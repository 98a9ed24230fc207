package h1

import (
	"bufio"
	"io"
	"sync"
)

// ReaderPool lends read buffers of one size to LentReaders.
type ReaderPool struct{ pool sync.Pool }

// NewReaderPool returns a pool of read buffers of size bytes.
func NewReaderPool(size int) *ReaderPool {
	p := &ReaderPool{}
	p.pool.New = func() any { return bufio.NewReaderSize(nil, size) }
	return p
}

// LentReader is a buffered reader over a connection whose buffer is borrowed
// from a ReaderPool only while it is needed: a connection waiting for its
// peer with nothing unread holds no buffer, so hundreds of waiting
// connections do not pin hundreds of buffers. Its zero value is unusable;
// call Init first. It is not safe for concurrent use.
type LentReader struct {
	pool *ReaderPool
	src  io.Reader
	br   *bufio.Reader
}

// Init sets the pool the buffer comes from and the source it reads, giving
// back any buffer held before.
func (r *LentReader) Init(pool *ReaderPool, src io.Reader) {
	r.Drop()
	r.pool, r.src = pool, src
}

// Reader returns the buffered reader, borrowing a buffer first when none is
// held.
func (r *LentReader) Reader() *bufio.Reader {
	if r.br == nil {
		r.br = r.pool.pool.Get().(*bufio.Reader)
		r.br.Reset(r.src)
	}
	return r.br
}

// Held returns the buffered reader when a buffer is held, or nil.
func (r *LentReader) Held() *bufio.Reader { return r.br }

// Buffered returns how many bytes have been read ahead and not consumed.
func (r *LentReader) Buffered() int {
	if r.br == nil {
		return 0
	}
	return r.br.Buffered()
}

// Release gives the buffer back when it holds nothing unread.
func (r *LentReader) Release() {
	if r.br != nil && r.br.Buffered() == 0 {
		r.Drop()
	}
}

// Drop gives the buffer back whatever it holds: for a connection that is
// closing, or that a hijacker took over with the bytes it needed.
func (r *LentReader) Drop() {
	if r.br != nil {
		r.br.Reset(nil)
		r.pool.pool.Put(r.br)
		r.br = nil
	}
}
