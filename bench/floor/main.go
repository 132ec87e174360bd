// Command floor is the least a TCP proxy can do, for bench/ingress.py's reference figure: accept,
// dial one fixed address, copy both ways, pass the client's end on. No head is read, nothing is
// decided or bounded: what a second connection per request costs on the machine, and no more.
//
//	floor LISTEN_ADDR UPSTREAM_ADDR
package main

import (
	"io"
	"net"
	"os"
)

func main() {
	listener, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		os.Exit(1)
	}
	for {
		client, err := listener.Accept()
		if err != nil {
			continue
		}
		go func(client net.Conn) {
			defer client.Close()
			upstream, err := net.Dial("tcp", os.Args[2])
			if err != nil {
				return
			}
			defer upstream.Close()
			go func() {
				io.Copy(upstream, client)
				upstream.(*net.TCPConn).CloseWrite()
			}()
			io.Copy(client, upstream)
		}(client)
	}
}
