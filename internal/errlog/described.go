package errlog

// Described is an error that carries the error log line nginx writes for
// it: the level and the words, without the request's tail (", client: ...")
// or a "while ..." phase, which the writer adds. The daemon's engine
// describes the failures of a client's request body this way ("client sent
// invalid chunked body", "client prematurely closed connection", "client
// intended to send too large chunked body: 5+5 bytes"), so that every
// handler that reads a body logs them in nginx's words without knowing the
// engine's errors.
type Described interface {
	error
	LogLine() (Level, string)
}
