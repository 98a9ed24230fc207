package config

// This file reads the main context's process settings: the resource
// limits, the scheduling priority and the working directory that nginx's
// worker process sets in ngx_worker_process_init.

// Limit is an optional resource limit: Set is false when its directive is
// absent, and the process keeps the limit it was started with.
type Limit struct {
	// Value is the limit, applied as both the soft and the hard limit.
	Value uint64
	// Set reports whether the directive was given.
	Set bool
}

// mainProcess reads worker_rlimit_nofile, worker_rlimit_core,
// worker_priority and working_directory.
func (b *builder) mainProcess(main *scope) error {
	m := &b.cfg.Main
	for _, d := range main.own("worker_rlimit_nofile") {
		n, err := parseNumber(d.Args[0]) // ngx_conf_set_num_slot; the generic check words the error
		if err != nil {
			return err
		}
		m.RlimitNofile = Limit{Value: uint64(n), Set: true}
	}
	for _, d := range main.own("worker_rlimit_core") {
		n, err := parseOffset(d.Args[0])
		if err != nil {
			return err
		}
		m.RlimitCore = Limit{Value: uint64(n), Set: true}
	}
	for _, d := range main.own("worker_priority") {
		if err := b.mainPriority(d); err != nil {
			return err
		}
	}
	for _, d := range main.own("working_directory") {
		m.WorkingDirectory = d.Args[0]
	}
	return nil
}

// mainPriority reads "worker_priority [-|+]number" as nginx's
// ngx_set_priority does: a second one is a duplicate only when the first
// set a priority other than 0 (nginx's "not set" value).
func (b *builder) mainPriority(d *Directive) error {
	if b.cfg.Main.Priority != 0 {
		return hintf(d.Pos, "give worker_priority once", `"%s" directive is duplicate`, d.Name)
	}
	s, minus := d.Args[0], false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s, minus = s[1:], s[0] == '-'
	}
	n, err := parseInt(s)
	if err != nil {
		return hintf(d.Pos, "use a nice value from -20 to 19, such as -5", `"%s" directive invalid number`, d.Name)
	}
	if minus {
		n = -n
	}
	b.cfg.Main.Priority = n
	return nil
}
