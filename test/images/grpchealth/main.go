// Command grpchealth is the test image behind grpc probes: a gRPC server
// with the standard health service on :9000, reporting the whole server and
// the service "ok" SERVING and the service "down" NOT_SERVING. It also
// answers HTTP on :8080, 200 "ok" on every path: the probes bench's tcp and
// http probes hit it hundreds of times a second, which busybox httpd (a
// fork per connection) cannot take on a small machine.
package main

import (
	"log"
	"net"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	l, err := net.Listen("tcp", ":9000")
	if err != nil {
		log.Fatal(err)
	}
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("ok", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("down", healthpb.HealthCheckResponse_NOT_SERVING)
	go func() {
		log.Fatal(http.ListenAndServe(":8080", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("ok\n"))
		})))
	}()
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, hs)
	log.Printf("grpc health server on %s", l.Addr())
	log.Fatal(s.Serve(l))
}
