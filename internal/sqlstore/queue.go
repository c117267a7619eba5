package sqlstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrClosed answers a call made after the store was closed.
var ErrClosed = errors.New("store is closed")

// Call is what a call to a store's writer goroutine (its group commit)
// shares with its caller. A store's call type embeds it.
type Call struct {
	// state is callQueued until the writer takes the call (callTaken) or
	// its caller gives up on it first (callAbandoned); the two race on it
	// with a compare-and-swap, so a caller that returns ctx.Err() knows
	// that nothing of its call was done.
	state atomic.Int32
	done  chan struct{} // closed when the call is answered
}

const (
	callQueued int32 = iota
	callTaken
	callAbandoned
)

// Base returns c; through embedding, the Call of a store's call.
func (c *Call) Base() *Call { return c }

// Take marks the call taken by the writer, unless its caller gave up on
// it first: then it reports false, and the writer drops it.
func (c *Call) Take() bool { return c.state.CompareAndSwap(callQueued, callTaken) }

// Answer tells the caller that its call is answered (its results are set).
func (c *Call) Answer() { close(c.done) }

// Queue carries calls to a store's writer goroutine.
type Queue[T interface{ Base() *Call }] struct {
	// C is what the writer receives from; closed by Close.
	C chan T

	mu     sync.RWMutex // held to send on C; Close takes it to close C
	closed bool
	done   chan struct{} // closed when the writer goroutine ends
}

// Start makes C with room for size calls and runs writer, the store's
// writer goroutine, which must return once C is closed and drained.
func (q *Queue[T]) Start(size int, writer func()) {
	q.C = make(chan T, size)
	q.done = make(chan struct{})
	go func() {
		defer close(q.done)
		writer()
	}()
}

// Run hands c to the writer and waits until it is answered. It returns
// ctx.Err() when ctx ends before the writer took c (then nothing of c was
// done), ErrClosed after Close, else nil: the answer is in c.
func (q *Queue[T]) Run(ctx context.Context, c T) error {
	b := c.Base()
	b.done = make(chan struct{})
	if err := q.send(ctx, c); err != nil {
		return err
	}
	select {
	case <-b.done:
	case <-ctx.Done():
		if b.state.CompareAndSwap(callQueued, callAbandoned) {
			return ctx.Err()
		}
		<-b.done // taken: it is being done, wait for the outcome
	}
	return nil
}

func (q *Queue[T]) send(ctx context.Context, c T) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return ErrClosed
	}
	select {
	case q.C <- c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close lets the writer finish the calls queued and waits for it to end;
// a later Run gets ErrClosed.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.C) // no sender holds mu.RLock now
	}
	q.mu.Unlock()
	<-q.done
}
