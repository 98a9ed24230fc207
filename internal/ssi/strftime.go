package ssi

import (
	"strconv"
	"time"
)

// Strftime appends t formatted as C's strftime in the C locale does with
// format (the conversions nginx's SSI time formats use; an unknown one is
// copied as it is).
func Strftime(dst []byte, format string, t time.Time) []byte {
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			dst = append(dst, c)
			continue
		}
		i++
		dst = conversion(dst, format[i], t)
	}
	return dst
}

// conversion appends one %c conversion.
func conversion(dst []byte, c byte, t time.Time) []byte {
	switch c {
	case 'a':
		return append(dst, t.Weekday().String()[:3]...)
	case 'A':
		return append(dst, t.Weekday().String()...)
	case 'b', 'h':
		return append(dst, t.Month().String()[:3]...)
	case 'B':
		return append(dst, t.Month().String()...)
	case 'c':
		return t.AppendFormat(dst, "Mon Jan _2 15:04:05 2006")
	case 'C':
		return pad2(dst, t.Year()/100)
	case 'd':
		return pad2(dst, t.Day())
	case 'D':
		return t.AppendFormat(dst, "01/02/06")
	case 'e':
		return t.AppendFormat(dst, "_2")
	case 'F':
		return t.AppendFormat(dst, "2006-01-02")
	case 'H':
		return pad2(dst, t.Hour())
	case 'I':
		return t.AppendFormat(dst, "03")
	case 'j':
		return t.AppendFormat(dst, "002")
	case 'k':
		if t.Hour() < 10 {
			dst = append(dst, ' ')
		}
		return strconv.AppendInt(dst, int64(t.Hour()), 10)
	case 'm':
		return pad2(dst, int(t.Month()))
	case 'M':
		return pad2(dst, t.Minute())
	case 'n':
		return append(dst, '\n')
	case 'p':
		return t.AppendFormat(dst, "PM")
	case 'r':
		return t.AppendFormat(dst, "03:04:05 PM")
	case 'R':
		return t.AppendFormat(dst, "15:04")
	case 's':
		return strconv.AppendInt(dst, t.Unix(), 10)
	case 'S':
		return pad2(dst, t.Second())
	case 't':
		return append(dst, '\t')
	case 'T':
		return t.AppendFormat(dst, "15:04:05")
	case 'u':
		return strconv.AppendInt(dst, int64((int(t.Weekday())+6)%7+1), 10)
	case 'w':
		return strconv.AppendInt(dst, int64(t.Weekday()), 10)
	case 'y':
		return pad2(dst, t.Year()%100)
	case 'Y':
		return strconv.AppendInt(dst, int64(t.Year()), 10)
	case 'z':
		return t.AppendFormat(dst, "-0700")
	case 'Z':
		name, _ := t.Zone()
		return append(dst, name...)
	case '%':
		return append(dst, '%')
	}
	return append(dst, '%', c)
}

// pad2 appends n with at least two digits.
func pad2(dst []byte, n int) []byte {
	if n < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(n), 10)
}
