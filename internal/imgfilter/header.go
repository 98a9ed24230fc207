package imgfilter

// header is what an image's first bytes say about it, as nginx's
// ngx_http_image_size reads them.
type header struct {
	width, height int
	// force: a JPEG whose application data (EXIF, XMP, ...) takes more
	// than 5% of it is transformed even when it fits.
	force bool
}

// headerSize reads the image's size from its header as nginx does (a PNG's
// width and height from their low 16 bits only, as nginx); ok is false
// when it cannot (nginx's NGX_DECLINED: "size" answers "{}", the others
// decode the image to learn it).
func headerSize(t Type, b []byte) (header, bool) {
	switch t {
	case JPEG:
		return jpegSize(b)
	case GIF:
		if len(b) < 10 {
			return header{}, false
		}
		return header{width: int(b[7])<<8 | int(b[6]), height: int(b[9])<<8 | int(b[8])}, true
	case PNG:
		if len(b) < 24 {
			return header{}, false
		}
		return header{width: int(b[18])<<8 | int(b[19]), height: int(b[22])<<8 | int(b[23])}, true
	case WebP:
		return webpSize(b)
	}
	return header{}, false
}

// jpegSize walks the JPEG's markers as nginx: the first SOF marker's size,
// and the application segments' total length.
func jpegSize(b []byte) (header, bool) {
	var h header
	app := 0
	last := len(b) - 10
	for p := 2; p < last; {
		if b[p] != 0xff || b[p+1] == 0xff {
			p++
			continue
		}
		p++
		switch b[p] {
		case 0xc0, 0xc1, 0xc2, 0xc3, 0xc9, 0xca, 0xcb:
			if h.width == 0 || h.height == 0 {
				h.width = int(b[p+6])<<8 | int(b[p+7])
				h.height = int(b[p+4])<<8 | int(b[p+5])
			}
		}
		n := int(b[p+1])<<8 | int(b[p+2])
		if b[p] >= 0xe1 && b[p] <= 0xef {
			app += n
		}
		p += n
	}
	if h.width == 0 || h.height == 0 {
		return header{}, false
	}
	h.force = len(b)/20 < app
	return h, true
}

// webpSize reads a WebP's canvas size from its VP8, VP8L or VP8X chunk.
func webpSize(b []byte) (header, bool) {
	if len(b) < 30 || string(b[12:15]) != "VP8" {
		return header{}, false
	}
	switch b[15] {
	case ' ':
		if b[20]&1 != 0 || b[23] != 0x9d || b[24] != 0x01 || b[25] != 0x2a {
			return header{}, false
		}
		return header{width: (int(b[26]) | int(b[27])<<8) & 0x3fff, height: (int(b[28]) | int(b[29])<<8) & 0x3fff}, true
	case 'L':
		if b[20] != 0x2f {
			return header{}, false
		}
		w := (int(b[21]) | int(b[22])<<8) & 0x3fff
		h := (int(b[22])>>6 | int(b[23])<<2 | int(b[24])<<10) & 0x3fff
		return header{width: w + 1, height: h + 1}, true
	case 'X':
		w := int(b[24]) | int(b[25])<<8 | int(b[26])<<16
		h := int(b[27]) | int(b[28])<<8 | int(b[29])<<16
		return header{width: w + 1, height: h + 1}, true
	}
	return header{}, false
}
