// Package pemkey decrypts the encrypted PEM private keys that nginx loads
// with ssl_password_file and proxy_ssl_password_file, trying passphrases in
// order as nginx's ngx_ssl_password_callback has OpenSSL do. It reads the
// two encryptions OpenSSL writes:
//
//   - PKCS#8 "ENCRYPTED PRIVATE KEY" with PBES2 (RFC 8018): PBKDF2 with
//     HMAC-SHA1/224/256/384/512, or scrypt (RFC 7914), and AES-128/192/256-CBC
//     or DES-EDE3-CBC. This is what OpenSSL 1.1 and 3 write by default
//     (openssl genpkey -aes256, openssl pkey -aes256, openssl req -newkey
//     without -nodes). The older PKCS#12 PBE schemes (openssl pkcs8 -v1) are
//     refused with a hint.
//   - legacy "Proc-Type: 4,ENCRYPTED" blocks (openssl rsa|ec -aes128
//     -traditional, OpenSSL 1.0's default), which Go's x509.DecryptPEMBlock
//     reads.
//
// Go's standard library has no PKCS#8 decryption; PBES2 is a few ASN.1
// structures around crypto/pbkdf2 and crypto/cipher, so fulcrum carries it
// here rather than take a dependency (the usual one, youmark/pkcs8, is a
// small single-maintainer module for the same few lines).
package pemkey

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"

	"golang.org/x/crypto/scrypt"
)

// ErrEncrypted is a key that is encrypted when no passphrase was given.
var ErrEncrypted = errors.New("the key is encrypted")

// ErrWrongPassphrase is a key that none of the passphrases decrypts.
var ErrWrongPassphrase = errors.New("no passphrase decrypts the key")

// Encrypted reports whether keyPEM holds an encrypted private key.
func Encrypted(keyPEM []byte) bool {
	blk, _ := findKey(keyPEM)
	return blk != nil && isEncrypted(blk)
}

// Decrypt returns keyPEM with its private key decrypted by the first of
// passphrases that does: an "ENCRYPTED PRIVATE KEY" becomes a "PRIVATE KEY"
// (PKCS#8), a legacy encrypted block loses its encryption headers. A key
// that is not encrypted is returned as it is. The other PEM blocks are
// dropped: the result is the key alone, for tls.X509KeyPair.
func Decrypt(keyPEM []byte, passphrases [][]byte) ([]byte, error) {
	blk, _ := findKey(keyPEM)
	if blk == nil || !isEncrypted(blk) {
		return keyPEM, nil
	}
	if len(passphrases) == 0 {
		return nil, ErrEncrypted
	}
	for _, p := range passphrases {
		out, err := decryptBlock(blk, p)
		if err == nil {
			return pem.EncodeToMemory(out), nil
		}
		if !errors.Is(err, ErrWrongPassphrase) {
			return nil, err
		}
	}
	return nil, ErrWrongPassphrase
}

// findKey returns the first PEM block that holds a private key.
func findKey(data []byte) (*pem.Block, []byte) {
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			return nil, nil
		}
		if blk.Type == "ENCRYPTED PRIVATE KEY" || blk.Type == "PRIVATE KEY" || bytes.HasSuffix([]byte(blk.Type), []byte(" PRIVATE KEY")) {
			return blk, data
		}
	}
}

func isEncrypted(blk *pem.Block) bool {
	//lint:ignore SA1019 reading OpenSSL's legacy encrypted keys is the point
	return blk.Type == "ENCRYPTED PRIVATE KEY" || x509.IsEncryptedPEMBlock(blk)
}

// decryptBlock decrypts blk with one passphrase; ErrWrongPassphrase when
// the result is not a key (bad padding, or not a key's DER).
func decryptBlock(blk *pem.Block, pass []byte) (*pem.Block, error) {
	if blk.Type == "ENCRYPTED PRIVATE KEY" {
		der, err := decryptPKCS8(blk.Bytes, pass)
		if err != nil {
			return nil, err
		}
		if _, err := x509.ParsePKCS8PrivateKey(der); err != nil {
			return nil, ErrWrongPassphrase
		}
		return &pem.Block{Type: "PRIVATE KEY", Bytes: der}, nil
	}
	//lint:ignore SA1019 the legacy format is what is asked for; its weakness (no integrity) is checked below by parsing
	der, err := x509.DecryptPEMBlock(blk, pass)
	if err != nil {
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, ErrWrongPassphrase
		}
		return nil, fmt.Errorf("legacy encrypted key: %w", err)
	}
	if !parses(blk.Type, der) {
		return nil, ErrWrongPassphrase
	}
	return &pem.Block{Type: blk.Type, Bytes: der}, nil
}

// parses reports whether der is a private key of PEM type typ.
func parses(typ string, der []byte) bool {
	var err error
	switch typ {
	case "RSA PRIVATE KEY":
		_, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		_, err = x509.ParseECPrivateKey(der)
	default:
		_, err = x509.ParsePKCS8PrivateKey(der)
	}
	return err == nil
}

// The ASN.1 of RFC 5958's EncryptedPrivateKeyInfo and RFC 8018's PBES2.
type encryptedPrivateKeyInfo struct {
	Algo pkix.AlgorithmIdentifier
	Data []byte
}

type pbes2Params struct {
	KDF    pkix.AlgorithmIdentifier
	Scheme pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

type scryptParams struct {
	Salt                      []byte
	N, BlockSize, Parallelism int
	KeyLength                 int `asn1:"optional"`
}

var (
	oidPBES2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidScrypt = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}
	oidPKCS12 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1}
	oidPKCS5  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5}
)

// prfs are PBKDF2's pseudo-random functions by the OID of their HMAC.
var prfs = map[string]func() hash.Hash{
	"1.2.840.113549.2.7":  sha1.New,
	"1.2.840.113549.2.8":  sha256.New224,
	"1.2.840.113549.2.9":  sha256.New,
	"1.2.840.113549.2.10": sha512.New384,
	"1.2.840.113549.2.11": sha512.New,
}

// ciphers are the encryption schemes by OID: key size and block cipher.
var ciphers = map[string]struct {
	keyLen int
	block  func([]byte) (cipher.Block, error)
}{
	"2.16.840.1.101.3.4.1.2":  {16, aes.NewCipher},
	"2.16.840.1.101.3.4.1.22": {24, aes.NewCipher},
	"2.16.840.1.101.3.4.1.42": {32, aes.NewCipher},
	"1.2.840.113549.3.7":      {24, des.NewTripleDESCipher},
}

// decryptPKCS8 decrypts an EncryptedPrivateKeyInfo with PBES2.
func decryptPKCS8(der, pass []byte) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, fmt.Errorf("encrypted private key: %w", err)
	}
	if !info.Algo.Algorithm.Equal(oidPBES2) {
		if hasPrefix(info.Algo.Algorithm, oidPKCS12) || hasPrefix(info.Algo.Algorithm, oidPKCS5) {
			return nil, fmt.Errorf("encrypted private key: the PKCS#5 v1.5 / PKCS#12 scheme %s is not supported, only PBES2", info.Algo.Algorithm)
		}
		return nil, fmt.Errorf("encrypted private key: unknown scheme %s", info.Algo.Algorithm)
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &params); err != nil {
		return nil, fmt.Errorf("encrypted private key: PBES2 parameters: %w", err)
	}
	c, ok := ciphers[params.Scheme.Algorithm.String()]
	if !ok {
		return nil, fmt.Errorf("encrypted private key: unsupported cipher %s", params.Scheme.Algorithm)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.Scheme.Parameters.FullBytes, &iv); err != nil {
		return nil, fmt.Errorf("encrypted private key: cipher parameters: %w", err)
	}
	key, err := deriveKey(params.KDF, pass, c.keyLen)
	if err != nil {
		return nil, err
	}
	block, err := c.block(key)
	if err != nil {
		return nil, fmt.Errorf("encrypted private key: %w", err)
	}
	if len(iv) != block.BlockSize() || len(info.Data) == 0 || len(info.Data)%block.BlockSize() != 0 {
		return nil, errors.New("encrypted private key: bad IV or data length")
	}
	out := make([]byte, len(info.Data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, info.Data)
	return unpad(out, block.BlockSize())
}

// deriveKey runs PBES2's key derivation function.
func deriveKey(kdf pkix.AlgorithmIdentifier, pass []byte, keyLen int) ([]byte, error) {
	switch {
	case kdf.Algorithm.Equal(oidPBKDF2):
		var p pbkdf2Params
		if _, err := asn1.Unmarshal(kdf.Parameters.FullBytes, &p); err != nil {
			return nil, fmt.Errorf("encrypted private key: PBKDF2 parameters: %w", err)
		}
		prf := sha1.New // the default, hmacWithSHA1
		if len(p.PRF.Algorithm) > 0 {
			if prf = prfs[p.PRF.Algorithm.String()]; prf == nil {
				return nil, fmt.Errorf("encrypted private key: unsupported PBKDF2 function %s", p.PRF.Algorithm)
			}
		}
		if p.KeyLength != 0 && p.KeyLength != keyLen {
			return nil, errors.New("encrypted private key: PBKDF2 key length does not fit the cipher")
		}
		return pbkdf2.Key(prf, string(pass), p.Salt, p.Iterations, keyLen)
	case kdf.Algorithm.Equal(oidScrypt):
		var p scryptParams
		if _, err := asn1.Unmarshal(kdf.Parameters.FullBytes, &p); err != nil {
			return nil, fmt.Errorf("encrypted private key: scrypt parameters: %w", err)
		}
		return scrypt.Key(pass, p.Salt, p.N, p.BlockSize, p.Parallelism, keyLen)
	}
	return nil, fmt.Errorf("encrypted private key: unsupported key derivation %s", kdf.Algorithm)
}

// unpad removes PKCS#7 padding; bad padding is most often a wrong
// passphrase.
func unpad(b []byte, size int) ([]byte, error) {
	n := int(b[len(b)-1])
	if n == 0 || n > size || n > len(b) {
		return nil, ErrWrongPassphrase
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return nil, ErrWrongPassphrase
		}
	}
	return b[:len(b)-n], nil
}

func hasPrefix(oid, prefix asn1.ObjectIdentifier) bool {
	return len(oid) > len(prefix) && oid[:len(prefix)].Equal(prefix)
}
