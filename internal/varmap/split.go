package varmap

import "fulcrum/internal/config"

// PickSplit returns the value of the split_clients part that hash falls
// in, as nginx's ngx_http_split_clients_variable and its stream twin: the
// first part whose bound is above hash, or the first "*"; "" when none is.
func PickSplit(parts []config.SplitPart, hash uint32) string {
	for _, p := range parts {
		if hash < p.Bound || p.Bound == 0 {
			return p.Value
		}
	}
	return ""
}

// MurmurHash2 is nginx's ngx_murmur_hash2 (Austin Appleby's MurmurHash2
// with seed 0, little-endian words).
func MurmurHash2(data []byte) uint32 {
	const m = 0x5bd1e995
	h := uint32(len(data))
	for len(data) >= 4 {
		k := uint32(data[0]) | uint32(data[1])<<8 | uint32(data[2])<<16 | uint32(data[3])<<24
		k *= m
		k ^= k >> 24
		k *= m
		h *= m
		h ^= k
		data = data[4:]
	}
	switch len(data) {
	case 3:
		h ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}
