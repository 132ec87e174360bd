// Command gpurent-relay relays the provider agent's ingress connections (a client's and a job's
// port's) in compiled code, beside the agent's Python event loop.
//
//	gpurent-relay FD IDLE_MS CONNECT_MS LINGER_BYTES LINGER_MS HEAD_MAX
//
// FD is a SOCK_SEQPACKET Unix socket to the agent (src/gpurent/agent/native.py). The agent
// decides every connection (the route, access, the bounds) and hands each one it allows as one
// message with two descriptors (SCM_RIGHTS): the client's connection and the job's socket, made
// in the job's network namespace. This process only moves bytes, with the semantics of the
// agent's own relay (gpurent.agent.front.Pair): back-pressure both ways (a side is read only as
// fast as the other takes it), each half-close passed on, an HTTP response's head rewritten to
// `Connection: close` and the pair closed after that one response, an idle timeout, and an
// abort when the agent says so (the job has ended). It reports each pair's end to the agent,
// which keeps the books; when the agent's end of FD closes, every pair is closed and it exits.
//
// Messages from the agent:
//
//	'P' then pairs, each id:u64 flags:u8 port:u16 len(to_client):u32 len(to_job):u32 to_client to_job,
//	    with two descriptors each, in order (client, job)
//	'X' id:u64   abort the pair
//
// flags: 1 the job speaks HTTP (one response), 2 the job's socket is not connected yet: this
// process connects it to 127.0.0.1:port (in its namespace; a failure is answered with a 502).
// To the agent: 'E' then ids (u64 each) of pairs whose connections are closed (or were never relayed).
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	flagHTTP = 1
	flagDial = 2
	chunk    = 64 * 1024
	maxBatch = 64 // pairs in one message at most (the agent's native.BATCH)
)

var (
	idle, connectTimeout, lingerTime time.Duration
	lingerBytes, headMax             int
	control                          int // the agent's socket (blocking)
	endedMu                          sync.Mutex
	ended                            []byte // ids of pairs ended, not yet reported
	endedReady                       = make(chan struct{}, 1)
	pairsMu                          sync.Mutex
	pairs                            = map[uint64]*pair{}
	epoch                            = time.Now()
	buffers                          = sync.Pool{New: func() any { b := make([]byte, chunk); return &b }}
)

type pair struct {
	id          uint64
	client, job *net.TCPConn
	http        bool
	last        atomic.Int64 // nanoseconds since epoch of the last bytes read from either side
	once        sync.Once
	mu          sync.Mutex // guards what follows, and client and job while they are set
	closed      bool
	clientEOF   bool
	jobEOF      bool
}

func main() {
	if len(os.Args) != 7 {
		fmt.Fprintln(os.Stderr, "usage: gpurent-relay FD IDLE_MS CONNECT_MS LINGER_BYTES LINGER_MS HEAD_MAX")
		os.Exit(2)
	}
	n := make([]int, 6)
	for i, arg := range os.Args[1:] {
		v, err := strconv.Atoi(arg)
		if err != nil || v < 0 {
			fmt.Fprintf(os.Stderr, "gpurent-relay: not a count: %q\n", arg)
			os.Exit(2)
		}
		n[i] = v
	}
	control = n[0]
	idle, connectTimeout = time.Duration(n[1])*time.Millisecond, time.Duration(n[2])*time.Millisecond
	lingerBytes, lingerTime, headMax = n[3], time.Duration(n[4])*time.Millisecond, n[5]
	go reap()
	go reporter()
	serve()
	pairsMu.Lock()
	for _, p := range pairs {
		go p.close()
	}
	pairsMu.Unlock()
	time.Sleep(100 * time.Millisecond) // the closes above (each at once: nothing is flushed)
}

// serve reads the agent's messages until its end closes.
func serve() {
	buf := make([]byte, 256*1024) // a message: at most a head the agent bounds (HEAD_MAX) and a few lines
	oob := make([]byte, syscall.CmsgSpace(maxBatch*2*4))
	if err := syscall.SetNonblock(control, true); err != nil {
		return
	}
	file := os.NewFile(uintptr(control), "control") // read through Go's poller: no thread parked in recvmsg
	raw, err := file.SyscallConn()
	if err != nil {
		return
	}
	for {
		var n, oobn int
		var rerr error
		err := raw.Read(func(fd uintptr) bool {
			n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), buf, oob, syscall.MSG_CMSG_CLOEXEC)
			return rerr != syscall.EAGAIN
		})
		if rerr == syscall.EINTR {
			continue
		}
		if err != nil || rerr != nil || n == 0 {
			return
		}
		fds := descriptors(oob[:oobn])
		msg := buf[:n]
		switch {
		case msg[0] == 'P':
			pairsFrom(msg[1:], fds)
		case msg[0] == 'X' && n == 9:
			pairsMu.Lock()
			p := pairs[binary.BigEndian.Uint64(msg[1:9])]
			pairsMu.Unlock()
			if p != nil {
				p.close()
			}
		default:
			closeAll(fds)
		}
	}
}

// pairsFrom starts the pairs of one message: records of id:u64 flags:u8 port:u16
// len(to_client):u32 len(to_job):u32 to_client to_job, two descriptors each, in order.
func pairsFrom(msg []byte, fds []int) {
	for len(fds) >= 2 && len(msg) >= 19 {
		id := binary.BigEndian.Uint64(msg[0:8])
		flags, port := msg[8], int(binary.BigEndian.Uint16(msg[9:11]))
		toClientLen, toJobLen := int(binary.BigEndian.Uint32(msg[11:15])), int(binary.BigEndian.Uint32(msg[15:19]))
		if 19+toClientLen+toJobLen > len(msg) {
			break
		}
		toClient := bytes.Clone(msg[19 : 19+toClientLen])
		toJob := bytes.Clone(msg[19+toClientLen : 19+toClientLen+toJobLen])
		msg = msg[19+toClientLen+toJobLen:]
		p := &pair{id: id, http: flags&flagHTTP != 0}
		p.touch()
		pairsMu.Lock()
		pairs[id] = p // before it runs: an abort that follows at once finds it
		pairsMu.Unlock()
		go start(p, flags, port, fds[0], fds[1], toClient, toJob)
		fds = fds[2:]
	}
	closeAll(fds) // a malformed rest: closed (the agent cannot send one; nothing is relayed for it)
}

func descriptors(oob []byte) []int {
	messages, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range messages {
		if got, err := syscall.ParseUnixRights(&m); err == nil {
			fds = append(fds, got...)
		}
	}
	return fds
}

func closeAll(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

// report tells the agent that pair id is done (its connections closed); the ends are sent in
// batches, as fast as the agent takes them.
func report(id uint64) {
	endedMu.Lock()
	ended = binary.BigEndian.AppendUint64(ended, id)
	endedMu.Unlock()
	select {
	case endedReady <- struct{}{}:
	default:
	}
}

// reporter sends the ends reported: 'E' and up to 4,096 ids a message.
func reporter() {
	for range endedReady {
		endedMu.Lock()
		batch := ended
		ended = nil
		endedMu.Unlock()
		for len(batch) > 0 {
			take := min(len(batch), 8*4096)
			msg := append([]byte{'E'}, batch[:take]...)
			batch = batch[take:]
			for {
				_, err := syscall.Write(control, msg)
				if err == syscall.EAGAIN { // the agent reads these at once: a moment's wait
					time.Sleep(time.Millisecond)
					continue
				}
				if err != syscall.EINTR {
					break
				}
			}
		}
	}
}

// tcp wraps descriptor fd (this process's copy is closed: the conn holds its own).
func tcp(fd int) (*net.TCPConn, error) {
	f := os.NewFile(uintptr(fd), "socket")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	t, ok := c.(*net.TCPConn)
	if !ok {
		c.Close()
		return nil, errors.New("not a TCP socket")
	}
	return t, nil
}

func start(p *pair, flags byte, port int, clientFD, jobFD int, toClient, toJob []byte) {
	client, err := tcp(clientFD)
	if err != nil || !p.set(&p.client, client) {
		syscall.Close(jobFD)
		p.close()
		return
	}
	var job *net.TCPConn
	if flags&flagDial != 0 {
		job, err = dial(jobFD, port)
	} else {
		job, err = tcp(jobFD)
	}
	if err != nil {
		p.mu.Lock()
		p.client = nil // answered and closed here, not by close
		closed := p.closed
		p.mu.Unlock()
		if !closed {
			answer(client, 502, err.Error())
		} else {
			client.Close()
		}
		p.close()
		return
	}
	if !p.set(&p.job, job) {
		return
	}
	if len(toJob) > 0 {
		go func() { // the request's head (the client's bytes follow it, below)
			if _, err := job.Write(toJob); err != nil {
				p.close()
				return
			}
			p.pump(client, job, &p.clientEOF)
		}()
	} else {
		go p.pump(client, job, &p.clientEOF)
	}
	if len(toClient) > 0 {
		if _, err := client.Write(toClient); err != nil {
			p.close()
			return
		}
	}
	p.answer()
}

// set keeps conn as one of the pair's connections; false (conn closed) if the pair has closed.
func (p *pair) set(field **net.TCPConn, conn *net.TCPConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		conn.Close()
		return false
	}
	*field = conn
	return true
}

// dial connects the job's socket (made in its namespace) to 127.0.0.1:port there.
func dial(fd, port int) (*net.TCPConn, error) {
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, unreachable(port, err)
	}
	err := syscall.Connect(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}})
	if err != nil && err != syscall.EINPROGRESS && err != syscall.EINTR {
		syscall.Close(fd)
		return nil, unreachable(port, err)
	}
	job, werr := tcp(fd)
	if werr != nil {
		return nil, unreachable(port, werr)
	}
	if err == nil {
		return job, nil
	}
	raw, _ := job.SyscallConn()
	job.SetWriteDeadline(time.Now().Add(connectTimeout))
	var failed error
	werr = raw.Write(func(s uintptr) bool {
		code, gerr := syscall.GetsockoptInt(int(s), syscall.SOL_SOCKET, syscall.SO_ERROR)
		if gerr != nil {
			failed = gerr
			return true
		}
		if code != 0 {
			failed = syscall.Errno(code)
			return true
		}
		_, perr := syscall.Getpeername(int(s))
		return perr == nil // connected; else still under way: wait to be writable
	})
	job.SetWriteDeadline(time.Time{})
	if werr != nil && failed == nil {
		failed = werr
	}
	if failed != nil {
		job.Close()
		return nil, unreachable(port, failed)
	}
	return job, nil
}

// unreachable words a failed connection as the agent does (gpurent.agent.netns.unreachable).
func unreachable(port int, err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("nothing listens on port %d in the job (yet)", port)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("port %d in the job: no answer within %g s", port, connectTimeout.Seconds())
	}
	var code syscall.Errno
	if errors.As(err, &code) {
		return fmt.Errorf("port %d in the job: %s", port, code.Error())
	}
	return fmt.Errorf("port %d in the job: %v", port, err)
}

// answer sends a refusal as the agent's ingress words one (gpurent.agent.ingress.Answer), then
// closes, draining a little of what the client still sends so that it reads the answer.
func answer(client *net.TCPConn, status int, message string) {
	text, _ := json.Marshal(message)
	body := `{"error": ` + string(text) + `}`
	phrase := map[int]string{502: "Bad Gateway"}[status]
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Length: %d\r\nContent-Type: application/json\r\n\r\n",
		status, phrase, len(body))
	client.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := client.Write([]byte(head + body)); err == nil {
		client.CloseWrite()
		client.SetReadDeadline(time.Now().Add(lingerTime))
		io.CopyN(io.Discard, client, int64(lingerBytes))
	}
	client.Close()
}

func (p *pair) touch() { p.last.Store(int64(time.Since(epoch))) }

// close closes both connections at once (what is unsent is dropped) and reports the end.
func (p *pair) close() {
	p.once.Do(func() {
		p.mu.Lock()
		p.closed = true
		client, job := p.client, p.job
		p.mu.Unlock()
		for _, c := range []*net.TCPConn{client, job} {
			if c != nil {
				c.Close()
			}
		}
		pairsMu.Lock()
		delete(pairs, p.id)
		pairsMu.Unlock()
		report(p.id)
	})
}

// halfClosed passes a side's end on to the other side; both ended: the pair is done.
func (p *pair) halfClosed(to *net.TCPConn, eof *bool) {
	to.CloseWrite()
	p.mu.Lock()
	*eof = true
	done := p.clientEOF && p.jobEOF
	p.mu.Unlock()
	if done {
		p.close()
	}
}

// pump copies from -> to; a read error or a write error closes the pair, an EOF is passed on.
func (p *pair) pump(from, to *net.TCPConn, eof *bool) {
	pooled := buffers.Get().(*[]byte)
	defer buffers.Put(pooled)
	buf := *pooled
	for {
		n, err := from.Read(buf)
		if n > 0 {
			p.touch()
			if _, werr := to.Write(buf[:n]); werr != nil {
				p.close()
				return
			}
		}
		if err == io.EOF {
			p.halfClosed(to, eof)
			return
		}
		if err != nil {
			p.close()
			return
		}
	}
}

// answer relays the job's side: for HTTP, its response head is rewritten, and the pair ends
// when the job has sent its one response (its end).
func (p *pair) answer() {
	if !p.http {
		p.pump(p.job, p.client, &p.jobEOF)
		return
	}
	pooled := buffers.Get().(*[]byte)
	defer buffers.Put(pooled)
	buf := *pooled
	var head []byte
	for {
		n, err := p.job.Read(buf)
		if n > 0 {
			p.touch()
			head = append(head, buf[:n]...)
			if end := bytes.Index(head, []byte("\r\n\r\n")); end >= 0 {
				out := append(rewrite(head[:end]), head[end+4:]...)
				if _, werr := p.client.Write(out); werr != nil {
					p.close()
					return
				}
				break
			}
			if len(head) > headMax {
				p.close()
				return
			}
		}
		if err == io.EOF { // the job closed mid-head: what came is passed on
			if len(head) > 0 {
				if _, werr := p.client.Write(head); werr != nil {
					p.close()
					return
				}
			}
			p.halfClosed(p.client, &p.jobEOF)
			return
		}
		if err != nil {
			p.close()
			return
		}
	}
	for { // the rest of the response; its end is the pair's (Connection: close was asked)
		n, err := p.job.Read(buf)
		if n > 0 {
			p.touch()
			if _, werr := p.client.Write(buf[:n]); werr != nil {
				p.close()
				return
			}
		}
		if err != nil {
			p.close()
			return
		}
	}
}

// rewrite is gpurent.agent.ingress.rewrite_response_head: the connection headers replaced by
// `Connection: close` (a 101 Switching Protocols kept as it is).
func rewrite(head []byte) []byte {
	lines := bytes.Split(head, []byte("\r\n"))
	if len(lines[0]) >= 12 && string(lines[0][9:12]) == "101" {
		return append(bytes.Clone(head), "\r\n\r\n"...)
	}
	kept := [][]byte{lines[0]}
	for _, line := range lines[1:] {
		name, _, _ := bytes.Cut(line, []byte(":"))
		name = asciiLower(bytes.Trim(name, " \t\n\r\v\f")) // as Python's bytes.strip().lower(): ASCII only
		if string(name) != "connection" && string(name) != "keep-alive" {
			kept = append(kept, line)
		}
	}
	kept = append(kept, []byte("Connection: close"))
	return append(bytes.Join(kept, []byte("\r\n")), "\r\n\r\n"...)
}

func asciiLower(b []byte) []byte {
	out := bytes.Clone(b)
	for i, c := range out {
		if 'A' <= c && c <= 'Z' {
			out[i] = c + ('a' - 'A')
		}
	}
	return out
}

// reap closes pairs that moved nothing for the idle timeout (checked every min(1 s, idle/2)).
func reap() {
	every := min(time.Second, idle/2)
	if every <= 0 {
		every = time.Millisecond
	}
	for range time.Tick(every) {
		now := int64(time.Since(epoch))
		var stale []*pair
		pairsMu.Lock()
		for _, p := range pairs {
			if now-p.last.Load() > int64(idle) {
				stale = append(stale, p)
			}
		}
		pairsMu.Unlock()
		for _, p := range stale {
			p.close()
		}
	}
}
