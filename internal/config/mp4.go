package config

// MP4 is one level's ngx_http_mp4_module settings (mp4, mp4_buffer_size,
// mp4_max_buffer_size, mp4_start_key_frame). The sizes and the flag are
// inherited on their own, as nginx merges them; On is the location's own.
type MP4 struct {
	// On (the mp4 directive, a location's own, not inherited) serves the
	// location's files as nginx's mp4 module: "?start=S&end=E" (seconds)
	// sends the file cut to that time range. It is set only when mp4 is
	// the last of the level's content handler directives (flv, proxy_pass,
	// ...), which nginx lets the last one win.
	On bool
	// BufferSize is mp4_buffer_size (512k): how much of a file is read at
	// a time while its atoms are looked for; a moov atom that fits in it
	// is read at once.
	BufferSize int64
	// MaxBufferSize is mp4_max_buffer_size (10m): the largest moov atom
	// read when it does not fit in BufferSize; a larger one answers 500.
	MaxBufferSize int64
	// StartKeyFrame is mp4_start_key_frame: a cut file starts at the key
	// frame before start, with an edit list that skips to start.
	StartKeyFrame bool
}

// defaultMP4 is the MP4 settings of a level that writes none.
func defaultMP4() MP4 { return MP4{BufferSize: 512 * 1024, MaxBufferSize: 10 * 1024 * 1024} }

// mp4Rules read the mp4_* directives (mp4 itself is read with flv and the
// other content handlers, applyContentHandler).
func mp4Rules() []settingRule {
	return []settingRule{
		sizeRule("mp4_buffer_size", func(s *Settings) *int64 { return &s.MP4.BufferSize }),
		sizeRule("mp4_max_buffer_size", func(s *Settings) *int64 { return &s.MP4.MaxBufferSize }),
		flagRule("mp4_start_key_frame", func(s *Settings) *bool { return &s.MP4.StartKeyFrame }),
	}
}
