package oidc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// A login in progress (its state, nonce, PKCE verifier and the URI to
// return to) travels in a cookie of its own, <cookie_name>_login, sealed
// with AES-256-GCM under the provider's login key (Config.LoginKey): the
// store holds sessions only, so clients that never log in cannot fill it,
// and the key is not in the store, where the keyval API would show it and
// its DELETE would drop it. The cookie is sent back only to the redirect
// URI (its Path) and lives loginTTL.

// loginTTL is how long a login in progress waits for the callback.
const loginTTL = 10 * time.Minute

// LoginKeys holds the keys that seal login cookies, one per provider
// name, for the life of the process: its owner (the daemon) keeps it
// across reloads, so that a new Provider still opens the cookies of logins
// started before the reload. It is safe for concurrent use.
type LoginKeys struct {
	mu   sync.Mutex // guards keys
	keys map[string][]byte
}

// NewLoginKeys returns an empty set of keys.
func NewLoginKeys() *LoginKeys { return &LoginKeys{keys: map[string][]byte{}} }

// Key returns the provider name's key, 32 bytes from crypto/rand made the
// first time it is asked for.
func (k *LoginKeys) Key(name string) []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.keys[name]
	if !ok {
		key = newLoginKey()
		k.keys[name] = key
	}
	return key
}

// newLoginKey returns 32 bytes from crypto/rand.
func newLoginKey() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // Read does not fail on Linux
	}
	return b
}

// pending is a login in progress.
type pending struct {
	State    string `json:"state"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier,omitempty"`
	URI      string `json:"uri"`
	Redirect string `json:"redirect"`
	// Expires is when the login stops being accepted (Unix seconds).
	Expires int64 `json:"exp"`
}

// errLogin is a login cookie that is missing, forged, of another provider
// or too old.
var errLogin = errors.New("no login in progress for this client")

// loginCookieName is the name of the login cookie.
func (p *Provider) loginCookieName() string { return p.cfg.CookieName + "_login" }

// aead returns the cipher of the provider's login key.
func (p *Provider) aead() (cipher.AEAD, error) {
	block, err := aes.NewCipher(p.loginKey)
	if err != nil {
		return nil, fmt.Errorf("login key: %w", err)
	}
	return cipher.NewGCM(block)
}

// seal returns pd as a cookie value: nonce and ciphertext, base64url. The
// provider's name is authenticated with it, so that one provider does not
// take another's login.
func (p *Provider) seal(pd *pending) (string, error) {
	a, err := p.aead()
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(pd)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plain)+a.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("crypto/rand: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(a.Seal(nonce, nonce, plain, []byte(p.cfg.Name))), nil
}

// open returns the login a cookie value holds, if it is one this provider
// sealed and it has not expired.
func (p *Provider) open(value string) (*pending, error) {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || value == "" {
		return nil, errLogin
	}
	a, err := p.aead()
	if err != nil {
		return nil, err
	}
	if len(raw) < a.NonceSize() {
		return nil, errLogin
	}
	plain, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], []byte(p.cfg.Name))
	if err != nil {
		return nil, errLogin
	}
	var pd pending
	if json.Unmarshal(plain, &pd) != nil || p.now().Unix() >= pd.Expires {
		return nil, errLogin
	}
	return &pd, nil
}

// loginCookie is the Set-Cookie value of the login cookie, sent back to
// the redirect URI only; clear expires it.
func (p *Provider) loginCookie(value string, secure, clear bool) string {
	c := p.loginCookieName() + "=" + value + "; Path=" + p.callbackPath() + "; HttpOnly; SameSite=Lax"
	if secure {
		c += "; Secure"
	}
	if clear {
		return c + "; Max-Age=0"
	}
	return c + fmt.Sprintf("; Max-Age=%d", int(loginTTL/time.Second))
}
