package kositest

import "github.com/release-bot/release-bot/internal/fakekit"

// Response is a scripted answer, given instead of the normal one. A
// Response without a Status answers 200 (unless PassThrough or Process say
// otherwise); a body that looks like JSON is sent as application/json.
type Response = fakekit.Response

// Hang is the scripted response that never comes.
func Hang() Response { return Response{Hang: true} }

// Script queues responses for route, consumed one per request, oldest first,
// before the normal handling. AnyRoute's queue is used when route's own is empty.
func (s *Server) Script(route Route, rs ...Response) { s.kit.Script(route, rs...) }

// FailNext makes the next n requests to route answer status with a JSON message.
func (s *Server) FailNext(route Route, n int, status int) { s.kit.FailNext(route, n, status) }

// Pending says how many scripted responses are still queued for route.
func (s *Server) Pending(route Route) int { return s.kit.Pending(route) }

// Clear drops the responses still scripted for route.
func (s *Server) Clear(route Route) { s.kit.Clear(route) }
