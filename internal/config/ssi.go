package config

// SSI is one level's ngx_http_ssi_module settings (ssi, ssi_types,
// ssi_silent_errors, ssi_value_length, ssi_last_modified,
// ssi_min_file_chunk, ssi_ignore_recycled_buffers). Each field is
// inherited on its own, as nginx merges them.
type SSI struct {
	// On is ssi: the commands in a response's body are carried out.
	On bool
	// SilentErrors is ssi_silent_errors: a failing command outputs
	// nothing instead of the error message.
	SilentErrors bool
	// LastModified is ssi_last_modified: keep Last-Modified (and the
	// ETag, made weak) of a processed response; off by default, which
	// removes both.
	LastModified bool
	// ValueLength is ssi_value_length (255): the longest parameter value.
	ValueLength int64
	// MinFileChunk is ssi_min_file_chunk (1024): in nginx, the smallest
	// part of a file sent from disk rather than memory. fulcrum keeps it
	// only to show it; it changes nothing.
	MinFileChunk int64
	// IgnoreRecycledBuffers is ssi_ignore_recycled_buffers, a detail of
	// nginx's buffer management; it changes nothing in fulcrum.
	IgnoreRecycledBuffers bool
	// Types are ssi_types' MIME types, lower-case, besides text/html,
	// which is always processed; AnyType is "ssi_types *".
	Types   []string
	AnyType bool
}

// defaultSSI is the SSI settings of a level that writes none.
func defaultSSI() SSI { return SSI{ValueLength: 255, MinFileChunk: 1024} }

// ssiRules read the ssi_* directives.
func ssiRules() []settingRule {
	return []settingRule{
		flagRule("ssi", func(s *Settings) *bool { return &s.SSI.On }),
		flagRule("ssi_silent_errors", func(s *Settings) *bool { return &s.SSI.SilentErrors }),
		flagRule("ssi_last_modified", func(s *Settings) *bool { return &s.SSI.LastModified }),
		flagRule("ssi_ignore_recycled_buffers", func(s *Settings) *bool { return &s.SSI.IgnoreRecycledBuffers }),
		sizeRule("ssi_value_length", func(s *Settings) *int64 { return &s.SSI.ValueLength }),
		sizeRule("ssi_min_file_chunk", func(s *Settings) *int64 { return &s.SSI.MinFileChunk }),
		{names: []string{"ssi_types"}, apply: func(b *builder, st *Settings, dirs []*Directive, _ *scope) error {
			st.SSI.Types, st.SSI.AnyType = typesSlot(b, dirs)
			return nil
		}},
		sizeRule("subrequest_output_buffer_size", func(s *Settings) *int64 { return &s.SubrequestOutputBufferSize }),
	}
}
