package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("journal: closed")

var errMissingHash = errors.New("journal: a stored hash is missing")

// MaxBatch bounds the entries one group commit writes.
const MaxBatch = 4096

// DefaultLinger is the group-commit wait under concurrency: about one SQLite commit on this machine.
const DefaultLinger = 500 * time.Microsecond

// CheckpointInterval is how often the background loop signs a checkpoint while entries are appended.
const CheckpointInterval = time.Second

// Journal appends entries with group commit and signs checkpoints. One Journal is the only writer of
// its store's journal: a second writer's appends fail (the store refuses an index already taken).
type Journal struct {
	st       Store
	signer   note.Signer
	verifier note.Verifier
	witness  *os.File // nil: none
	Now      func() time.Time
	// Linger is how long the group-commit writer waits for more entries once several callers append
	// at once (DefaultLinger; 0: never wait). Set it before the first Append.
	Linger time.Duration

	reqs                 chan *request
	closeMu              sync.RWMutex // held for reading while sending on reqs; for writing by Close
	closed               bool
	writerDone, loopDone chan struct{}
	stopLoop             context.CancelFunc

	mu    sync.Mutex // guards size, front, stale
	size  int64
	front *memHashes // the frontier of the committed tree
	// stale is set when an append failed and the store could not say what it holds (a lost database
	// connection): the next append first learns the store's tree (resync) and goes on from it.
	stale bool
	// broken is set, once, when the store holds less than this journal committed, or a tree that
	// does not extend it (rolled back, truncated, rewritten): every later Append fails with it.
	broken atomic.Pointer[error]

	ckMu   sync.Mutex // one checkpoint at a time
	ckSize int64      // size of the last checkpoint signed
}

type request struct {
	data   []byte
	record string
	index  int64
	done   chan error
}

// Open opens the journal kept in st. signer signs checkpoints; verifier (its public half) checks the
// last stored checkpoint against the stored tree before anything is appended. witness, if not
// empty, is a file to which every checkpoint is appended (created 0600 if needed). Open starts the
// group-commit writer and the checkpoint loop; Close stops them.
func Open(ctx context.Context, st Store, signer note.Signer, verifier note.Verifier, witness string) (*Journal, error) {
	if signer.Name() != verifier.Name() || signer.KeyHash() != verifier.KeyHash() {
		return nil, errors.New("journal: the verifier is not the signer's")
	}
	j := &Journal{st: st, signer: signer, verifier: verifier, Now: time.Now, Linger: DefaultLinger,
		reqs: make(chan *request, MaxBatch), writerDone: make(chan struct{}), loopDone: make(chan struct{})}
	// The checkpoints first, then the size: another process may append and sign between the two
	// reads, and entries are never removed, so every checkpoint read first is within the size read next.
	cps, err := st.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	size, err := st.JournalSize(ctx)
	if err != nil {
		return nil, err
	}
	j.size = size
	j.front = &memHashes{m: map[int64]tlog.Hash{}, next: hashReader(context.Background(), st)}
	if size > 0 {
		if _, err := j.front.ReadHashes(frontier(size)); err != nil {
			return nil, fmt.Errorf("journal: reading the tree: %w", err)
		}
	}
	if len(cps) > 0 {
		last := cps[len(cps)-1]
		t, err := OpenCheckpoint(last.Signed, verifier)
		if err != nil {
			return nil, err
		}
		if t.Size != last.Size || t.Size > size {
			return nil, fmt.Errorf("journal: the last checkpoint (size %d) is beyond the stored journal (size %d): the store was rolled back or truncated", t.Size, size)
		}
		root, err := tlog.TreeHash(t.Size, hashReader(ctx, st))
		if err != nil {
			return nil, err
		}
		if root != t.Hash {
			return nil, fmt.Errorf("journal: the stored tree at size %d does not match its signed checkpoint: run amane journal verify", t.Size)
		}
		j.ckSize = t.Size
	}
	if witness != "" {
		f, err := os.OpenFile(witness, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("journal: witness: %w", err)
		}
		j.witness = f
	}
	lctx, cancel := context.WithCancel(context.Background())
	j.stopLoop = cancel
	go j.writer()
	go j.loop(lctx)
	return j, nil
}

// Append adds an entry and returns its index once the transaction holding it has committed. Concurrent
// calls are written together, in one transaction. An entry without a time gets the current one. If ctx
// ends first, Append returns its error and the entry may or may not be committed.
func (j *Journal) Append(ctx context.Context, e Entry) (int64, error) {
	if e.Time == "" {
		e.Time = FormatTime(j.Now())
	}
	b, err := e.Encode()
	if err != nil {
		return 0, err
	}
	return j.append(ctx, b, e.Record)
}

// AppendAll adds entries, queued together, and returns once every one has committed (normally in one
// transaction). On error, some may have committed.
func (j *Journal) AppendAll(ctx context.Context, es []Entry) error {
	now := FormatTime(j.Now())
	reqs := make([]*request, len(es))
	for i := range es {
		if es[i].Time == "" {
			es[i].Time = now
		}
		b, err := es[i].Encode()
		if err != nil {
			return err
		}
		reqs[i] = &request{data: b, record: es[i].Record, done: make(chan error, 1)}
		if err := j.enqueue(ctx, reqs[i]); err != nil {
			return err
		}
	}
	for _, r := range reqs {
		select {
		case err := <-r.done:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// AppendRaw appends an already encoded entry (see Entry.Encode). Its record column is derived from
// the bytes, as Verify expects.
func (j *Journal) AppendRaw(ctx context.Context, data []byte) (int64, error) {
	return j.append(ctx, data, RecordOf(data))
}

func (j *Journal) append(ctx context.Context, data []byte, record string) (int64, error) {
	r := &request{data: data, record: record, done: make(chan error, 1)}
	if err := j.enqueue(ctx, r); err != nil {
		return 0, err
	}
	select {
	case err := <-r.done:
		return r.index, err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (j *Journal) enqueue(ctx context.Context, r *request) error {
	if len(r.data) == 0 {
		return errors.New("journal: empty entry")
	}
	j.closeMu.RLock()
	if j.closed {
		j.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case j.reqs <- r:
	case <-ctx.Done():
		j.closeMu.RUnlock()
		return ctx.Err()
	}
	j.closeMu.RUnlock()
	return nil
}

// writer is the group-commit goroutine: it takes every request waiting, up to MaxBatch, and writes
// them in one transaction; requests that arrive meanwhile form the next batch.
func (j *Journal) writer() {
	defer close(j.writerDone)
	batch := make([]*request, 0, MaxBatch)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	last := 0 // size of the previous batch
	for {
		r, ok := <-j.reqs
		if !ok {
			return
		}
		batch = append(batch[:0], r)
		closed := false
	drain: // everything already waiting
		for len(batch) < MaxBatch {
			select {
			case r, ok := <-j.reqs:
				if !ok {
					closed = true
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		// Under concurrency, when fewer callers are waiting than the last commit served, wait a little
		// for the others: one commit (an fsync) then serves them all, which costs less CPU and disk
		// time per entry than the wait adds. A lone caller is never kept waiting.
		if !closed && j.Linger > 0 && last > 1 && len(batch) < last {
			linger.Reset(j.Linger)
		wait:
			for len(batch) < last {
				select {
				case r, ok := <-j.reqs:
					if !ok {
						break wait
					}
					batch = append(batch, r)
				case <-linger.C:
					break wait
				}
			}
			if !linger.Stop() {
				select {
				case <-linger.C:
				default:
				}
			}
		}
		last = len(batch)
		err := j.commit(batch)
		for _, r := range batch {
			r.done <- err
		}
	}
}

// commitTries bounds the tries of one batch whose append failed while the store's size stayed the
// same (a lost connection: the database pool's next try takes another one) or whose store could not
// be read after a failure.
const commitTries = 5

func (j *Journal) commit(batch []*request) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.brokenErr(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			// Back off a little: another writer's turn, or the database pool's reconnection.
			time.Sleep(time.Duration(rand.Int64N(int64(attempt) * int64(time.Millisecond))))
		}
		if j.stale {
			if _, serr := j.resync(ctx, nil); serr != nil {
				if j.brokenErr() != nil || attempt+1 >= commitTries {
					return fmt.Errorf("journal: append: %w", errors.Join(err, serr))
				}
				continue
			}
		}
		n := j.size
		if err = j.try(ctx, batch); err == nil {
			return nil
		}
		// The transaction may have committed all the same (a lost connection at commit), or not at
		// all, or another process (a CLI command while the server runs) appended first. Learn which
		// from the store: never a gap, never the batch twice.
		committed, serr := j.resync(ctx, batch)
		switch {
		case serr != nil: // stale: the next try (or the next batch) resyncs first
			if j.brokenErr() != nil || attempt+1 >= commitTries {
				return fmt.Errorf("journal: append: %w", errors.Join(err, serr))
			}
			continue
		case committed:
			return nil
		case j.size == n: // nothing was written: a failure before the commit; try again
			if attempt+1 >= commitTries {
				return fmt.Errorf("journal: append: %w", err)
			}
			continue
		}
		// Another writer appended first. Under load (the server journaling every read while a CLI
		// command runs) a writer can lose that race again and again: the store's lock, where it has
		// one, makes the next try read and append in one critical section.
		if la, ok := j.st.(LockedAppender); ok {
			if err := j.tryLocked(ctx, la, batch); err != nil {
				// Its outcome is learnt like any other's, at the next append.
				j.stale = true
				return fmt.Errorf("journal: append: %w", err)
			}
			return nil
		}
		if attempt >= 100 {
			return fmt.Errorf("journal: append: %w", err)
		}
	}
}

// brokenErr is the error every append fails with once the store was found rolled back or rewritten.
func (j *Journal) brokenErr() error {
	if p := j.broken.Load(); p != nil {
		return *p
	}
	return nil
}

func (j *Journal) breaks(err error) error {
	j.broken.CompareAndSwap(nil, &err)
	return j.brokenErr()
}

// resync learns the store's tree after a failed append, and goes on from it: the size, and the
// frontier at that size, which must extend the tree this journal committed (a consistency proof
// checked against the root it computed itself). A smaller size or a tree that does not extend it is
// a store rolled back or rewritten: the journal breaks. mine, if not nil, is the batch try wrote at
// the journal's size with an unknown outcome: resync reports whether it is there (committed, its
// indexes set). A batch found committed is never appended again; one not found was not written.
func (j *Journal) resync(ctx context.Context, mine []*request) (committed bool, err error) {
	j.stale = true
	size, err := j.st.JournalSize(ctx)
	if err != nil {
		return false, err
	}
	if size < j.size {
		return false, j.breaks(fmt.Errorf("journal: the store holds %d entries, fewer than the %d this journal committed: it was rolled back or truncated; run amane journal verify", size, j.size))
	}
	if size > j.size {
		front := &memHashes{m: map[int64]tlog.Hash{}, next: hashReader(context.Background(), j.st)}
		if _, err := front.ReadHashes(frontier(size)); err != nil {
			return false, err
		}
		if j.size > 0 {
			old, err := tlog.TreeHash(j.size, j.front)
			if err != nil {
				return false, err
			}
			cur, err := tlog.TreeHash(size, front)
			if err != nil {
				return false, err
			}
			p, err := tlog.ProveTree(size, j.size, hashReader(ctx, j.st))
			if err != nil {
				return false, err
			}
			if tlog.CheckTree(p, size, cur, j.size, old) != nil {
				return false, j.breaks(fmt.Errorf("journal: the stored tree at size %d does not extend the one this journal committed at size %d: run amane journal verify", size, j.size))
			}
		}
		if len(mine) > 0 {
			if committed, err = j.find(ctx, size, mine); err != nil {
				return false, err
			}
		}
		front.keep(size)
		j.size, j.front = size, front
	}
	j.stale = false
	return committed, nil
}

// find reports whether batch is stored at the journal's size (where try wrote it: AppendJournal
// writes at the index it is given or not at all), whole and in order, before size.
func (j *Journal) find(ctx context.Context, size int64, batch []*request) (bool, error) {
	if size-j.size < int64(len(batch)) {
		return false, nil
	}
	got, err := j.st.JournalEntries(ctx, j.size, j.size+int64(len(batch)))
	if err != nil {
		return false, err
	}
	for i, r := range batch {
		if !bytes.Equal(got[i], r.data) {
			return false, nil
		}
	}
	for i, r := range batch {
		r.index = j.size + int64(i)
	}
	return true, nil
}

// try writes batch at the current size, and on success makes it the committed tree.
func (j *Journal) try(ctx context.Context, batch []*request) error {
	n := j.size
	// Work on a copy of the frontier: a failed transaction leaves the committed one as it was.
	work := &memHashes{m: make(map[int64]tlog.Hash, len(j.front.m)+2*len(batch)), next: j.front.next}
	for k, v := range j.front.m {
		work.m[k] = v
	}
	entries, records := batchRows(batch)
	hashes, err := storedHashes(n, batch, work)
	if err != nil {
		return err
	}
	if err := j.st.AppendJournal(ctx, n, entries, records, hashes); err != nil {
		return err
	}
	j.committed(n, batch, work)
	return nil
}

// tryLocked writes batch at the journal's end under the store's lock: the size and the frontier are
// read inside it, so no other process can append in between.
func (j *Journal) tryLocked(ctx context.Context, la LockedAppender, batch []*request) error {
	entries, records := batchRows(batch)
	var work *memHashes
	n, err := la.AppendJournalLocked(ctx, entries, records, func(n int64, r tlog.HashReader) ([]tlog.Hash, error) {
		work = &memHashes{m: map[int64]tlog.Hash{}, next: r}
		return storedHashes(n, batch, work)
	})
	if err != nil {
		return err
	}
	work.next = hashReader(context.Background(), j.st) // r was the transaction's, now over
	j.committed(n, batch, work)
	return nil
}

func batchRows(batch []*request) (entries [][]byte, records []string) {
	entries, records = make([][]byte, len(batch)), make([]string, len(batch))
	for i, r := range batch {
		entries[i], records[i] = r.data, r.record
	}
	return entries, records
}

// storedHashes returns the tree's stored hashes for batch appended at n, recording them in work and
// each request's index.
func storedHashes(n int64, batch []*request, work *memHashes) ([]tlog.Hash, error) {
	hashes := make([]tlog.Hash, 0, 2*len(batch)+8)
	for i, r := range batch {
		idx := n + int64(i)
		hs, err := tlog.StoredHashes(idx, r.data, work)
		if err != nil {
			return nil, err
		}
		base := tlog.StoredHashIndex(0, idx)
		for k, h := range hs {
			work.m[base+int64(k)] = h
		}
		hashes = append(hashes, hs...)
		r.index = idx
	}
	return hashes, nil
}

// committed makes batch, written at n with the hashes in work, the committed tree.
func (j *Journal) committed(n int64, batch []*request, work *memHashes) {
	work.keep(n + int64(len(batch)))
	j.front = work
	j.size = n + int64(len(batch))
}

// Health reports whether the journal can append: nil, or why not — closed, broken (its store rolled
// back or rewritten), or its store unreachable (one cheap query: the size). For a load balancer's
// health check (/healthz); it takes no lock an append holds, so a slow store does not queue it
// behind the appends.
func (j *Journal) Health(ctx context.Context) error {
	j.closeMu.RLock()
	closed := j.closed
	j.closeMu.RUnlock()
	if closed {
		return ErrClosed
	}
	if err := j.brokenErr(); err != nil {
		return err
	}
	if _, err := j.st.JournalSize(ctx); err != nil {
		return fmt.Errorf("journal: the store cannot be read: %w", err)
	}
	return nil
}

// Size is the number of committed entries.
func (j *Journal) Size() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.size
}

// Checkpoint signs the current tree head, stores it and appends it to the witness file (fsynced). It
// does nothing when no entry was appended since the last checkpoint, and returns the size signed.
func (j *Journal) Checkpoint(ctx context.Context) (int64, error) {
	j.ckMu.Lock()
	defer j.ckMu.Unlock()
	j.mu.Lock()
	size := j.size
	var root tlog.Hash
	var err error
	if size > j.ckSize {
		root, err = tlog.TreeHash(size, j.front)
	}
	j.mu.Unlock()
	if err != nil || size <= j.ckSize {
		return j.ckSize, err
	}
	signed, err := SignCheckpoint(j.signer, size, root)
	if err != nil {
		return 0, err
	}
	if err := j.st.AddCheckpoint(ctx, size, signed); err != nil {
		return 0, err
	}
	if j.witness != nil {
		if _, err := j.witness.Write(append(signed, '\n')); err != nil {
			return 0, fmt.Errorf("journal: witness: %w", err)
		}
		if err := j.witness.Sync(); err != nil {
			return 0, fmt.Errorf("journal: witness: %w", err)
		}
	}
	j.ckSize = size
	return size, nil
}

// loop signs a checkpoint every CheckpointInterval while entries are appended.
func (j *Journal) loop(ctx context.Context) {
	defer close(j.loopDone)
	t := time.NewTicker(CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			j.Checkpoint(cctx) // an error is retried at the next tick; Verify reports an unsigned tail
			cancel()
		}
	}
}

// Close writes the entries waiting, stops the checkpoint loop, signs a last checkpoint and closes the
// witness file. It does not close the store.
func (j *Journal) Close() error {
	j.closeMu.Lock()
	if j.closed {
		j.closeMu.Unlock()
		return nil
	}
	j.closed = true
	close(j.reqs)
	j.closeMu.Unlock()
	<-j.writerDone
	j.stopLoop()
	<-j.loopDone
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := j.Checkpoint(ctx)
	if j.witness != nil {
		err = errors.Join(err, j.witness.Close())
	}
	return err
}
