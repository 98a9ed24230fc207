package balancer

import "hash/crc32"

// crcString continues the IEEE CRC-32 crc (a finished value, as
// crc32.Update takes it) over s without converting s to a []byte. nginx's
// ngx_crc32_* functions compute the same CRC-32 as zlib.
func crcString(crc uint32, s string) uint32 {
	tab := crc32.IEEETable
	crc = ^crc
	for i := 0; i < len(s); i++ {
		crc = tab[byte(crc)^s[i]] ^ (crc >> 8)
	}
	return ^crc
}
