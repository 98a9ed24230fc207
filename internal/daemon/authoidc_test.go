package daemon_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/oidc/oidctest"
)

// oidcConf protects / with auth_oidc; %[1]s is the provider's issuer, %[2]s
// the backend, which answers the X-User and X-Email fields it gets.
const oidcConf = `
    access_log off;
    oidc_provider idp {
        issuer            %[1]s;
        client_id         fulcrum-client;
        client_secret     s3cret;
        logout_uri        /logout;
        post_logout_uri   /bye;
        logout_token_hint on;
    }
    server {
        listen 127.0.0.1:0;
        location / {
            auth_oidc idp;
            proxy_set_header X-User  $oidc_claim_sub;
            proxy_set_header X-Email $oidc_claim_email;
            proxy_pass http://%[2]s;
        }
        location /bye { auth_oidc off; return 200 "bye\n"; }
    }
`

// browser is a client with a cookie jar that returns redirects instead of
// following them.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// fetch GETs u and returns the status, the Location and the body.
func fetch(t *testing.T, c *http.Client, u string) (int, string, string, http.Header) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body), resp.Header
}

// TestAuthOIDC drives the whole flow through the daemon: the redirect to
// the provider, the callback, the proxied request with the claims in
// proxy_set_header, a reload that keeps the session, a replayed callback,
// and the logout.
func TestAuthOIDC(t *testing.T) {
	op := oidctest.New(t, false)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user=%s email=%s uri=%s", r.Header.Get("X-User"), r.Header.Get("X-Email"), r.RequestURI)
	}))
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	text := fmt.Sprintf("pid %[1]s/fulcrum.pid;\nerror_log %[1]s/error.log notice;\nhttp {\n", dir) +
		fmt.Sprintf(oidcConf, op.Issuer, backend.Listener.Addr()) + "\n}\n"
	addr, sigs := runConfig(t, dir, text)
	base := "http://" + addr
	c := browser(t)

	// 1. No session: to the provider, with a login cookie.
	code, loc, _, h := fetch(t, c, base+"/app?x=1")
	if code != http.StatusFound || !op.HasPrefix(loc, "/authorize?") {
		t.Fatalf("unauthenticated: %d %q", code, loc)
	}
	if sc := h.Get("Set-Cookie"); !strings.HasPrefix(sc, "NGX_OIDC_SESSION_login=") || !strings.Contains(sc, "HttpOnly") ||
		!strings.Contains(sc, "SameSite=Lax") || strings.Contains(sc, "Secure") {
		t.Errorf("login cookie: %q", sc)
	}
	auth, _ := url.Parse(loc)
	if q := auth.Query(); q.Get("redirect_uri") != base+"/oidc_callback" || q.Get("state") == "" || q.Get("nonce") == "" || q.Get("code_challenge") == "" {
		t.Errorf("authorization request: %v", q)
	}

	// 2. The provider sends the browser back with a code.
	code, callback, _, _ := fetch(t, c, loc)
	if code != http.StatusFound || !strings.HasPrefix(callback, base+"/oidc_callback?") {
		t.Fatalf("provider: %d %q", code, callback)
	}

	// 3. The callback: a session and back to the original URI.
	code, loc, _, _ = fetch(t, c, callback)
	if code != http.StatusFound || loc != "/app?x=1" {
		t.Fatalf("callback: %d %q", code, loc)
	}

	// 4. The proxied request carries the claims.
	code, _, body, _ := fetch(t, c, base+"/app?x=1")
	if code != http.StatusOK || body != "user=alice email=alice@example.com uri=/app?x=1" {
		t.Fatalf("with a session: %d %q", code, body)
	}

	// The session is in the default store, a keyval zone: a reload keeps it.
	reloadAndWait(t, sigs, dir)
	if code, _, body, _ := fetch(t, c, base+"/app"); code != http.StatusOK || !strings.HasPrefix(body, "user=alice ") {
		t.Fatalf("after a reload: %d %q", code, body)
	}

	// 5. The same callback again: the login cookie is gone.
	if code, _, _, _ := fetch(t, c, callback); code != http.StatusUnauthorized {
		t.Errorf("replayed callback: %d", code)
	}
	// Another browser (no cookie) gets nothing from the session.
	if code, _, _, _ := fetch(t, browser(t), base+"/app"); code != http.StatusFound {
		t.Errorf("another browser: %d", code)
	}

	// 6. Logout: the session ends and the provider's end session
	// endpoint gets the ID token and the post-logout URI.
	code, loc, _, _ = fetch(t, c, base+"/logout")
	end, _ := url.Parse(loc)
	if code != http.StatusFound || !op.HasPrefix(loc, "/logout?") || end.Query().Get("post_logout_redirect_uri") != base+"/bye" ||
		end.Query().Get("id_token_hint") == "" {
		t.Fatalf("logout: %d %q", code, loc)
	}
	if code, loc, _, _ := fetch(t, c, base+"/app"); code != http.StatusFound || !op.HasPrefix(loc, "/authorize?") {
		t.Errorf("after logout: %d %q", code, loc)
	}
	if code, _, body, _ := fetch(t, c, base+"/bye"); code != http.StatusOK || body != "bye\n" {
		t.Errorf("post-logout page: %d %q", code, body)
	}
}

// TestAuthOIDCProviderDown answers 500 when the provider's metadata cannot
// be had, without sending the client anywhere.
func TestAuthOIDCProviderDown(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	issuer := dead.URL
	dead.Close()
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(oidcConf, issuer, "127.0.0.1:9"))
	if code, loc, _, _ := fetch(t, browser(t), "http://"+addr+"/app"); code != http.StatusInternalServerError || loc != "" {
		t.Fatalf("provider down: %d %q", code, loc)
	}
}

// TestAuthOIDCStoreHoldsSessionsOnly checks that the keyval API shows a
// provider's sessions and nothing of fulcrum's own state: the key that
// seals the login cookies is not in the zone (where the API would show
// it and its DELETE drop it), and a login started before a reload still
// ends after it.
func TestAuthOIDCStoreHoldsSessionsOnly(t *testing.T) {
	op := oidctest.New(t, false)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user=%s", r.Header.Get("X-User"))
	}))
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	text := fmt.Sprintf("pid %[1]s/fulcrum.pid;\nerror_log %[1]s/error.log notice;\nhttp {\n", dir) + fmt.Sprintf(`
    access_log off;
    oidc_provider idp { issuer %[1]s; client_id fulcrum-client; client_secret s3cret; }
    server {
        listen 127.0.0.1:0;
        location / { auth_oidc idp; proxy_set_header X-User $oidc_claim_sub; proxy_pass http://%[2]s; }
        location /api { api write=on; }
    }
}
`, op.Issuer, backend.Listener.Addr())
	addr, sigs := runConfig(t, dir, text)
	base := "http://" + addr
	zone := base + "/api/9/http/keyvals/oidc_default_store_idp"
	keys := func() map[string]string {
		t.Helper()
		code, _, body, _ := fetch(t, browser(t), zone)
		var m map[string]string
		if code != http.StatusOK || json.Unmarshal([]byte(body), &m) != nil {
			t.Fatalf("GET %s: %d %q", zone, code, body)
		}
		return m
	}

	c := browser(t)
	code, loc, _, _ := fetch(t, c, base+"/app")
	if code != http.StatusFound || !op.HasPrefix(loc, "/authorize?") {
		t.Fatalf("unauthenticated: %d %q", code, loc)
	}
	if m := keys(); len(m) != 0 {
		t.Fatalf("the zone holds %v after a login started, want nothing", m)
	}
	// Emptying the zone through the API (DELETE) and a reload between the
	// login and the callback: the login still ends.
	if req, _ := http.NewRequest(http.MethodDelete, zone, nil); req != nil {
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE %s: %v %v", zone, resp, err)
		}
		resp.Body.Close()
	}
	reloadAndWait(t, sigs, dir)
	_, callback, _, _ := fetch(t, c, loc)
	if code, loc, _, _ := fetch(t, c, callback); code != http.StatusFound || loc != "/app" {
		t.Fatalf("callback after a reload: %d %q", code, loc)
	}
	if code, _, body, _ := fetch(t, c, base+"/app"); code != http.StatusOK || body != "user=alice" {
		t.Fatalf("with a session: %d %q", code, body)
	}
	m := keys()
	for k := range m {
		if !strings.HasPrefix(k, "s:") && !strings.HasPrefix(k, "sid:") {
			t.Errorf("the zone shows %q, which is not a session", k)
		}
	}
	if len(m) != 2 {
		t.Errorf("the zone holds %d keys, want the session and its sid: %v", len(m), m)
	}
}

// TestAuthOIDCRefresh logs in with an ID token that expires in two
// seconds and keeps asking: every request is let in, and the one after
// the expiry carries the refreshed access token to the backend.
func TestAuthOIDCRefresh(t *testing.T) {
	t.Parallel() // its own daemon and backends; waits on timers, no upper time bound
	op := oidctest.New(t, false)
	op.Set(func(p *oidctest.Provider) {
		p.Mutate = func(c map[string]any) { c["exp"] = time.Now().Add(2 * time.Second).Unix() }
	})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "token=%s", r.Header.Get("X-Token"))
	}))
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    oidc_provider idp { issuer %[1]s; client_id fulcrum-client; client_secret s3cret; }
    server {
        listen 127.0.0.1:0;
        location / { auth_oidc idp; proxy_set_header X-Token $oidc_access_token; proxy_pass http://%[2]s; }
    }
`, op.Issuer, backend.Listener.Addr()))
	base := "http://" + addr
	c := browser(t)
	_, loc, _, _ := fetch(t, c, base+"/")
	_, callback, _, _ := fetch(t, c, loc)
	if code, _, _, _ := fetch(t, c, callback); code != http.StatusFound {
		t.Fatalf("callback: %d", code)
	}
	_, _, first, _ := fetch(t, c, base+"/")
	refreshes := func() (n int) { op.Set(func(p *oidctest.Provider) { n = p.Refreshes }); return n }
	for deadline := time.Now().Add(5 * time.Second); refreshes() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no refresh 5 s after the ID token expired")
		}
		if code, _, body, _ := fetch(t, c, base+"/"); code != http.StatusOK || !strings.HasPrefix(body, "token=at-") {
			t.Fatalf("while the tokens live: %d %q", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, _, body, _ := fetch(t, c, base+"/")
	if code != http.StatusOK || body == first || !strings.HasPrefix(body, "token=at-") || refreshes() != 1 {
		t.Fatalf("after the refresh: %d %q (before %q), %d refreshes", code, body, first, refreshes())
	}
}
