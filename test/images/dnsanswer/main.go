// Command dnsanswer is the test image standing in for a cluster DNS: it
// answers A queries on UDP :53 for the names given as name=IPv4 arguments,
// NXDOMAIN for any other name, and logs every question with its sender, so
// that a test sees which names a pod's resolver tried.
package main

import (
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

func main() {
	records := map[string][4]byte{}
	for _, arg := range os.Args[1:] {
		name, ip, ok := strings.Cut(arg, "=")
		addr, err := netip.ParseAddr(ip)
		if !ok || err != nil || !addr.Is4() {
			log.Fatalf("argument %q: want name=IPv4", arg)
		}
		records[fqdn(name)] = addr.As4()
	}
	conn, err := net.ListenPacket("udp", ":53")
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("dns answerer on %s with %d names", conn.LocalAddr(), len(records))
	buf := make([]byte, 512)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			log.Fatal(err)
		}
		resp, err := answer(buf[:n], records, from)
		if err != nil {
			log.Printf("from %s: %v", from, err)
			continue
		}
		if _, err := conn.WriteTo(resp, from); err != nil {
			log.Printf("reply to %s: %v", from, err)
		}
	}
}

func fqdn(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, ".")) + "."
}

// answer builds the reply to one query.
func answer(query []byte, records map[string][4]byte, from net.Addr) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, fmt.Errorf("parse header: %w", err)
	}
	q, err := p.Question()
	if err != nil {
		return nil, fmt.Errorf("parse question: %w", err)
	}
	name := fqdn(q.Name.String())
	ip, known := records[name]
	log.Printf("query %s %s from %s", q.Type, name, from)
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if known && q.Type == dnsmessage.TypeA {
		if err := b.StartAnswers(); err != nil {
			return nil, err
		}
		rr := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 5}
		if err := b.AResource(rr, dnsmessage.AResource{A: ip}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}
