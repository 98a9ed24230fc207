package htpasswd

import (
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strconv"
	"strings"
)

// shaSpec is one of Ulrich Drepper's SHA-crypt variants: its magic, its hash
// and the order in which the digest's bytes are encoded.
type shaSpec struct {
	magic string
	hash  func() hash.Hash
	// groups are the byte triples encoded as 4 characters each; tail is the
	// last bytes, encoded as tailChars characters.
	groups    [][3]int
	tail      []int
	tailChars int
}

var sha256Spec = &shaSpec{magic: "$5$", hash: sha256.New,
	groups: [][3]int{{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
		{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29}},
	tail: []int{31, 30}, tailChars: 3}

var sha512Spec = &shaSpec{magic: "$6$", hash: sha512.New,
	groups: [][3]int{{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4},
		{47, 5, 26}, {6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10},
		{53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35}, {15, 36, 57}, {37, 58, 16},
		{59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41}},
	tail: []int{63}, tailChars: 2}

// The rounds SHA-crypt allows; "rounds=N$" outside them is clamped.
const (
	shaRoundsDefault = 5000
	shaRoundsMin     = 1000
	shaRoundsMax     = 999999999
)

// shaCrypt is SHA-crypt as glibc implements it: setting is a full hash or
// "magic[rounds=N$]salt"; the salt is at most 16 bytes. The result names the
// rounds only when setting did.
func shaCrypt(password, setting string, spec *shaSpec) string {
	rest := setting[len(spec.magic):]
	rounds, custom := shaRoundsDefault, false
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		digits, after, found := strings.Cut(r, "$")
		n, err := strconv.ParseUint(digits, 10, 64)
		if !found || err != nil {
			return "" // glibc refuses the setting: nothing matches
		}
		rounds, custom, rest = int(min(max(n, shaRoundsMin), shaRoundsMax)), true, after
	}
	pw, salt := []byte(password), []byte(cryptSalt(rest, 16))
	sum := shaRounds(pw, salt, rounds, spec.hash)

	out := []byte(spec.magic)
	if custom {
		out = append(out, "rounds="+strconv.Itoa(rounds)+"$"...)
	}
	out = append(out, salt...)
	out = append(out, '$')
	for _, g := range spec.groups {
		out = appendCrypt64(out, uint32(sum[g[0]])<<16|uint32(sum[g[1]])<<8|uint32(sum[g[2]]), 4)
	}
	var v uint32
	for _, i := range spec.tail {
		v = v<<8 | uint32(sum[i])
	}
	return string(appendCrypt64(out, v, spec.tailChars))
}

// shaRounds computes SHA-crypt's digest (steps 1 to 21 of the specification).
func shaRounds(pw, salt []byte, rounds int, newHash func() hash.Hash) []byte {
	b := newHash()
	b.Write(pw)
	b.Write(salt)
	b.Write(pw)
	bSum := b.Sum(nil)
	size := len(bSum)

	a := newHash()
	a.Write(pw)
	a.Write(salt)
	a.Write(repeat(bSum, len(pw)))
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			a.Write(bSum)
		} else {
			a.Write(pw)
		}
	}
	aSum := a.Sum(nil)

	dp := newHash()
	for range pw {
		dp.Write(pw)
	}
	p := repeat(dp.Sum(nil), len(pw))

	ds := newHash()
	for i := 0; i < 16+int(aSum[0]); i++ {
		ds.Write(salt)
	}
	s := repeat(ds.Sum(nil), len(salt))

	return stretch(newHash, rounds, aSum, p, s)[:size]
}

// repeat is sum repeated to n bytes.
func repeat(sum []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, sum[:min(len(sum), n-len(out))]...)
	}
	return out
}

// stretch runs the rounds MD5-crypt introduced and SHA-crypt kept: each round
// hashes the previous digest c with the password p and the salt s, in an
// order the round's number decides (odd or even, and whether it divides by 3
// and 7), to slow down brute force. It returns the last digest.
func stretch(newHash func() hash.Hash, rounds int, c, p, s []byte) []byte {
	for i := 0; i < rounds; i++ {
		h := newHash()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0])
	}
	return c
}
