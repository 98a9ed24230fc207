package config

import (
	"fmt"
	"strconv"
)

// Defaults of PREFIX_buffers (ngx_conf_merge_bufs_value with 8 and a memory
// page) and of PREFIX_buffer_size (a page).
const (
	defaultUpstreamBufs     = 8
	defaultUpstreamBufSize  = 4 << 10
	defaultUpstreamHeadSize = 4 << 10
)

// upstreamBuffersRule checks, at every server and location level, that
// PREFIX_buffer_size, PREFIX_buffers and PREFIX_busy_buffers_size agree as
// nginx's merge of the proxy, fastcgi, scgi and uwsgi location settings
// requires, so that `fulcrum -t` refuses what `nginx -t` refuses (fulcrum
// streams bodies with its own buffers and uses only PREFIX_buffer_size, the
// response head limit). nginx names the end of the http block; fulcrum names
// the directive to change. The http level itself is not checked: nginx
// checks in ngx_http_proxy_merge_loc_conf, which runs only when it merges
// into a server or a location, so an http block without servers passes
// whatever its sizes (nginx -t on nginx 1.22.1); its PREFIX_buffers must
// still read as a number and a size (ngx_conf_set_bufs_slot).
func upstreamBuffersRule(prefix string) settingRule {
	names := []string{prefix + "_buffer_size", prefix + "_buffers", prefix + "_busy_buffers_size"}
	return settingRule{names: names, find: nearestEach, apply: func(_ *builder, _ *Settings, dirs []*Directive, at *scope) error {
		if at.ctx == ctxHTTP {
			return checkBufsValues(prefix, dirs)
		}
		return checkUpstreamBuffers(prefix, dirs)
	}}
}

// checkBufsValues checks that each PREFIX_buffers in dirs reads as a
// number and a size, as nginx's slot function does wherever it stands.
func checkBufsValues(prefix string, dirs []*Directive) error {
	for _, d := range dirs {
		if d.Name == prefix+"_buffers" {
			if _, _, err := parseBufs(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// nearestEach is a find function that returns, for each name, the nearest
// level's directives of that name.
func nearestEach(s *scope, names ...string) ([]*Directive, *scope) {
	var all []*Directive
	for _, n := range names {
		dirs, _ := s.nearest(n)
		all = append(all, dirs...)
	}
	return all, s
}

// checkUpstreamBuffers applies ngx_http_proxy_merge_loc_conf's checks (the
// same in the fastcgi, scgi and uwsgi modules) to the nearest
// PREFIX_buffer_size, PREFIX_buffers and PREFIX_busy_buffers_size in dirs.
func checkUpstreamBuffers(prefix string, dirs []*Directive) error {
	headSize, num, bufSize := int64(defaultUpstreamHeadSize), int64(defaultUpstreamBufs), int64(defaultUpstreamBufSize)
	var head, bufs, busy *Directive
	busySize := int64(-1)
	for _, d := range dirs {
		switch d.Name {
		case prefix + "_buffer_size":
			head = d
			headSize, _ = parseSize(d.Args[0]) // checked by the table
		case prefix + "_buffers":
			bufs = d
			var err error
			if num, bufSize, err = parseBufs(d); err != nil {
				return err
			}
		case prefix + "_busy_buffers_size":
			busy = d
			busySize, _ = parseSize(d.Args[0])
		}
	}
	at := first(head, busy, bufs)
	if num < 2 {
		return hintf(bufs.Pos, fmt.Sprintf(`write "%s_buffers 2 %s;" or more`, prefix, sizeText(bufSize)),
			`there must be at least 2 "%s_buffers"`, prefix)
	}
	size := max(headSize, bufSize)
	if busySize < 0 {
		busySize = 2 * size
	}
	if busySize < size {
		return hintf(busy.Pos, fmt.Sprintf(`raise it to %s at least`, sizeText(size)),
			`"%[1]s_busy_buffers_size" must be equal to or greater than the maximum of the value of "%[1]s_buffer_size" and one of the "%[1]s_buffers"`, prefix)
	}
	if busySize > (num-1)*bufSize {
		// Buffers of the larger size, enough of them that all but one
		// hold the busy size (8 at least, nginx's default number).
		n := max(defaultUpstreamBufs, (busySize+size-1)/size+1)
		return hintf(at.Pos, fmt.Sprintf(`make room, for example "%s_buffers %d %s;" (%s_busy_buffers_size is %s)`, prefix, n, sizeText(size), prefix, sizeText(busySize)),
			`"%[1]s_busy_buffers_size" must be less than the size of all "%[1]s_buffers" minus one buffer`, prefix)
	}
	return nil
}

// parseBufs reads "PREFIX_buffers number size;" as ngx_conf_set_bufs_slot:
// a positive number and a size.
func parseBufs(d *Directive) (num, size int64, err error) {
	num, nerr := strconv.ParseInt(d.Args[0], 10, 64)
	size, serr := parseSize(d.Args[1])
	if nerr != nil || num <= 0 || serr != nil {
		return 0, 0, hintf(d.Pos, `write a number and a size, such as "8 4k"`, `"%s" directive invalid value`, d.Name)
	}
	return num, size, nil
}

// first returns the first of dirs that is not nil.
func first(dirs ...*Directive) *Directive {
	for _, d := range dirs {
		if d != nil {
			return d
		}
	}
	return nil
}

// sizeText writes n bytes as a size argument: "16k" when it is whole
// kilobytes, else the number.
func sizeText(n int64) string {
	if n > 0 && n%1024 == 0 {
		return strconv.FormatInt(n/1024, 10) + "k"
	}
	return strconv.FormatInt(n, 10)
}
