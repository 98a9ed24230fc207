package errlog

import "fulcrum/internal/config"

// Level is an error log severity, from the least to the most severe, in nginx's
// order. A target logs its level and every more severe one.
type Level int8

// The levels, as nginx names them.
const (
	Debug Level = iota
	Info
	Notice
	Warn
	Error
	Crit
	Alert
	Emerg
)

var levelNames = [...]string{"debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"}

// String returns nginx's name for the level ("warn", "emerg", ...).
func (l Level) String() string {
	if l < Debug || l > Emerg {
		return "unknown"
	}
	return levelNames[l]
}

// ParseLevel returns the level named s ("debug" ... "emerg"); ok is false for any
// other name.
func ParseLevel(s string) (l Level, ok bool) {
	for i, name := range levelNames {
		if name == s {
			return Level(i), true
		}
	}
	return 0, false
}

// FromConfig converts a config.LogLevel to a Level. Both follow nginx's order; a
// value outside the range is clamped to Debug or Emerg.
func FromConfig(l config.LogLevel) Level {
	switch {
	case l < config.LevelDebug:
		return Debug
	case l > config.LevelEmerg:
		return Emerg
	}
	return Debug + Level(l-config.LevelDebug)
}

// TargetsFrom converts error_log directives into targets, in the same order.
func TargetsFrom(logs []config.ErrorLog) []Target {
	out := make([]Target, 0, len(logs))
	for _, e := range logs {
		out = append(out, Target{Path: e.Path, Level: FromConfig(e.Level), Syslog: e.Syslog})
	}
	return out
}
