// Package httptime reads HTTP dates as nginx does (ngx_parse_http_time),
// for the caches, static files and the range filter alike.
package httptime

import "time"

// Parse reads a date as nginx's ngx_parse_http_time does, which is
// more lenient than http.ParseTime: the RFC 1123, RFC 850 and asctime forms,
// without looking at the day name or at anything after the time (the zone
// is taken as GMT whatever it says). It returns false where nginx returns
// NGX_ERROR.
func Parse(v string) (time.Time, bool) {
	const (
		rfc822 = iota + 1
		rfc850
		isoc
	)
	at := func(i int) byte { // nginx reads a NUL past the end
		if i < len(v) {
			return v[i]
		}
		return 0
	}
	digit := func(i int) (int, bool) {
		c := at(i)
		return int(c - '0'), c >= '0' && c <= '9'
	}
	two := func(i int) (int, bool) {
		a, ok1 := digit(i)
		b, ok2 := digit(i + 1)
		return a*10 + b, ok1 && ok2
	}
	fmt, p := 0, 0
	for ; p < len(v); p++ {
		if v[p] == ',' {
			break
		}
		if v[p] == ' ' {
			fmt = isoc
			break
		}
	}
	for p++; p < len(v) && v[p] == ' '; p++ {
	}
	if len(v)-p < 18 {
		return time.Time{}, false
	}
	day, year := 32, 2038
	var ok bool
	if fmt != isoc {
		if day, ok = two(p); !ok {
			return time.Time{}, false
		}
		p += 2
		switch at(p) {
		case ' ':
			if len(v)-p < 18 {
				return time.Time{}, false
			}
			fmt = rfc822
		case '-':
			fmt = rfc850
		default:
			return time.Time{}, false
		}
		p++
	}
	month, ok := monthOf(at(p), at(p+1), at(p+2))
	if !ok {
		return time.Time{}, false
	}
	p += 3
	if fmt == rfc822 && at(p) != ' ' || fmt == rfc850 && at(p) != '-' {
		return time.Time{}, false
	}
	p++
	switch fmt {
	case rfc822:
		hi, ok1 := two(p)
		lo, ok2 := two(p + 2)
		if !ok1 || !ok2 {
			return time.Time{}, false
		}
		year, p = hi*100+lo, p+4
	case rfc850:
		if year, ok = two(p); !ok {
			return time.Time{}, false
		}
		if year < 70 {
			year += 2000
		} else {
			year += 1900
		}
		p += 2
	case isoc:
		if at(p) == ' ' {
			p++
		}
		if day, ok = digit(p); !ok {
			return time.Time{}, false
		}
		p++
		if at(p) != ' ' {
			d, ok := digit(p)
			if !ok {
				return time.Time{}, false
			}
			day, p = day*10+d, p+1
		}
		if len(v)-p < 14 {
			return time.Time{}, false
		}
	}
	var clock [3]int
	for i := range clock {
		if at(p) != " ::"[i] {
			return time.Time{}, false
		}
		if clock[i], ok = two(p + 1); !ok {
			return time.Time{}, false
		}
		p += 3
	}
	if fmt == isoc {
		hi, ok1 := two(p + 1)
		lo, ok2 := two(p + 3)
		if at(p) != ' ' || !ok1 || !ok2 {
			return time.Time{}, false
		}
		year = hi*100 + lo
	}
	hour, minute, sec := clock[0], clock[1], clock[2]
	if hour > 23 || minute > 59 || sec > 60 || !dayFits(day, month, year) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month+1), day, hour, minute, sec, 0, time.UTC), true
}

// monthOf is nginx's guess of a month (0 for January) from its first
// letters, which it checks no further.
func monthOf(a, b, c byte) (int, bool) {
	switch a {
	case 'J':
		switch {
		case b == 'a':
			return 0, true
		case c == 'n':
			return 5, true
		}
		return 6, true
	case 'F':
		return 1, true
	case 'M':
		if c == 'r' {
			return 2, true
		}
		return 4, true
	case 'A':
		if b == 'p' {
			return 3, true
		}
		return 7, true
	case 'S':
		return 8, true
	case 'O':
		return 9, true
	case 'N':
		return 10, true
	case 'D':
		return 11, true
	}
	return 0, false
}

// dayFits is nginx's check of the day of the month (0 passes, as in nginx).
func dayFits(day, month, year int) bool {
	mday := [12]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	if day == 29 && month == 1 {
		return year%4 == 0 && (year%100 != 0 || year%400 == 0)
	}
	return day <= mday[month]
}

// Unix is Parse's Unix time, or -1 for a date Parse cannot read: what nginx
// compares when ngx_parse_http_time returns NGX_ERROR (-1), so that an
// unreadable date matches no file's time.
func Unix(v string) int64 {
	t, ok := Parse(v)
	if !ok {
		return -1
	}
	return t.Unix()
}
