package vars

import "strconv"

// opensslGroups names the key exchange groups (TLS "supported groups",
// formerly curves) as OpenSSL 3.0 names them (OBJ_nid2sn of the group's
// NID), which is how nginx writes $ssl_curve and $ssl_curves; the
// post-quantum hybrids Go's TLS offers, which OpenSSL 3.0 does not know,
// take the names OpenSSL 3.5 gives them.
var opensslGroups = map[uint16]string{
	1: "sect163k1", 2: "sect163r1", 3: "sect163r2", 4: "sect193r1", 5: "sect193r2",
	6: "sect233k1", 7: "sect233r1", 8: "sect239k1", 9: "sect283k1", 10: "sect283r1",
	11: "sect409k1", 12: "sect409r1", 13: "sect571k1", 14: "sect571r1",
	15: "secp160k1", 16: "secp160r1", 17: "secp160r2", 18: "secp192k1", 19: "prime192v1",
	20: "secp224k1", 21: "secp224r1", 22: "secp256k1", 23: "prime256v1", 24: "secp384r1",
	25: "secp521r1", 26: "brainpoolP256r1", 27: "brainpoolP384r1", 28: "brainpoolP512r1",
	29: "X25519", 30: "X448",
	256: "ffdhe2048", 257: "ffdhe3072", 258: "ffdhe4096", 259: "ffdhe6144", 260: "ffdhe8192",
	4587: "SecP256r1MLKEM768", 4588: "X25519MLKEM768", 4589: "SecP384r1MLKEM1024",
}

// AppendTLSGroup appends $ssl_curve's text for key exchange group id: its
// OpenSSL name, or nginx's "0x" and four hex digits for one OpenSSL does
// not know (a GREASE value, say).
func AppendTLSGroup(dst []byte, id uint16) []byte {
	if name, ok := opensslGroups[id]; ok {
		return append(dst, name...)
	}
	return appendHex16(dst, id)
}

// appendCipher appends the OpenSSL name of cipher suite id, or nginx's "0x"
// and the suite's two bytes in hex for one OpenSSL does not know.
func appendCipher(dst []byte, id uint16) []byte {
	if name, ok := opensslCiphers[id]; ok {
		return append(dst, name...)
	}
	return appendHex16(dst, id)
}

// appendHex16 appends "0x" and id as four lower-case hex digits.
func appendHex16(dst []byte, id uint16) []byte {
	dst = append(dst, "0x"...)
	for shift := 12; shift >= 0; shift -= 4 {
		dst = strconv.AppendUint(dst, uint64(id>>shift&0xf), 16)
	}
	return dst
}

// AppendTLSGroups appends $ssl_curves's text for the groups a client
// offered: each as AppendTLSGroup writes it, separated by ':'.
func AppendTLSGroups(dst []byte, ids []uint16) []byte {
	return appendList(dst, ids, AppendTLSGroup)
}

// AppendTLSCiphers appends $ssl_ciphers's text for the suites a client
// offered: OpenSSL's names, "0x" and hex for one OpenSSL does not know,
// separated by ':'.
func AppendTLSCiphers(dst []byte, ids []uint16) []byte {
	return appendList(dst, ids, appendCipher)
}

// appendList appends each of ids, named by name, separated by ':', as
// nginx writes $ssl_ciphers and $ssl_curves.
func appendList(dst []byte, ids []uint16, name func([]byte, uint16) []byte) []byte {
	for i, id := range ids {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = name(dst, id)
	}
	return dst
}
