package oidc_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/oidc"
	"fulcrum/internal/oidc/oidctest"
)

// refreshRig is a rig whose provider's refreshed ID tokens are good for
// two hours of real time, so that they are still good on the rig's clock,
// which the tests move past the first tokens' five minutes.
func refreshRig(t *testing.T) *rig {
	rg := newRig(t, nil, nil)
	rg.op.Set(func(p *oidctest.Provider) {
		p.RefreshMutate = func(c map[string]any) { c["exp"] = time.Now().Add(2 * time.Hour).Unix() }
	})
	return rg
}

func (rg *rig) refreshes() int {
	var n int
	rg.op.Set(func(p *oidctest.Provider) { n = p.Refreshes })
	return n
}

// TestRefresh checks the refresh of a session whose tokens expired: the
// session goes on with the new tokens, or, when the provider refuses or
// its answer does not validate, ends and the client logs in again.
func TestRefresh(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *oidctest.Provider)
		// ok: the request is let in with refreshed tokens; else it is
		// sent to log in, the session gone.
		ok bool
		// keepsIDToken: the answer has no ID token, the session keeps its.
		keepsIDToken bool
	}{
		{name: "refreshed", ok: true},
		{name: "without nonce", ok: true}, // Core 12.2: SHOULD NOT have one
		{name: "same nonce", ok: true, edit: func(p *oidctest.Provider) {
			mutate := p.RefreshMutate
			p.RefreshMutate = func(c map[string]any) { mutate(c); c["nonce"] = p.Authorize.Get("nonce") }
		}},
		{name: "without an ID token", ok: true, keepsIDToken: true, edit: func(p *oidctest.Provider) {
			p.RefreshAnswer = func(a map[string]any) { delete(a, "id_token") }
		}},
		{name: "expires_in a string", ok: true, edit: func(p *oidctest.Provider) {
			p.RefreshAnswer = func(a map[string]any) { a["expires_in"] = "soon" }
		}},
		{name: "refused", edit: func(p *oidctest.Provider) { p.RefreshError = "invalid_grant" }},
		{name: "another user", edit: func(p *oidctest.Provider) {
			mutate := p.RefreshMutate
			p.RefreshMutate = func(c map[string]any) { mutate(c); c["sub"] = "mallory" }
		}},
		{name: "another audience", edit: func(p *oidctest.Provider) {
			mutate := p.RefreshMutate
			p.RefreshMutate = func(c map[string]any) {
				mutate(c)
				c["aud"] = []string{oidctest.ClientID, "other"}
				c["azp"] = oidctest.ClientID
			}
		}},
		{name: "another issuer", edit: func(p *oidctest.Provider) {
			mutate := p.RefreshMutate
			p.RefreshMutate = func(c map[string]any) { mutate(c); c["iss"] = "https://evil.example" }
		}},
		{name: "another nonce", edit: func(p *oidctest.Provider) {
			mutate := p.RefreshMutate
			p.RefreshMutate = func(c map[string]any) { mutate(c); c["nonce"] = "other" }
		}},
		{name: "expired ID token", edit: func(p *oidctest.Provider) {
			p.RefreshMutate = func(c map[string]any) { c["exp"] = time.Now().Add(time.Minute).Unix() }
		}},
		{name: "forged signature", edit: func(p *oidctest.Provider) {
			p.RefreshAnswer = func(a map[string]any) { tok := a["id_token"].(string); a["id_token"] = tok[:len(tok)-4] + "AAAA" }
		}},
		{name: "no access token", edit: func(p *oidctest.Provider) {
			p.RefreshAnswer = func(a map[string]any) { delete(a, "access_token") }
		}},
		{name: "oversize answer", edit: func(p *oidctest.Provider) {
			p.RefreshAnswer = func(a map[string]any) { a["pad"] = strings.Repeat("a", 1<<20) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := refreshRig(t)
			sid := rg.login("/")
			first := rg.get("/", sid).Session
			if tt.edit != nil {
				rg.op.Set(tt.edit)
			}
			rg.clock = rg.clock.Add(4 * time.Minute)
			if o := rg.get("/", sid); o.Session == nil || rg.refreshes() != 0 {
				t.Fatalf("before the tokens expire: %d, %d refreshes", o.Status, rg.refreshes())
			}
			rg.clock = rg.clock.Add(2 * time.Minute) // the tokens lived 5 minutes
			o := rg.get("/", sid)
			if n := rg.refreshes(); n != 1 {
				t.Fatalf("%d refreshes, want 1", n)
			}
			if !tt.ok {
				if o.Session != nil || o.Status != http.StatusFound || !rg.op.HasPrefix(o.Header.Get("Location"), "/authorize?") ||
					!strings.Contains(o.Log, "refresh failed") {
					t.Fatalf("failed refresh: %d %v %q, want a new login", o.Status, o.Header, o.Log)
				}
				if o := rg.get("/", sid); o.Session != nil || rg.refreshes() != 1 {
					t.Fatalf("the session outlived a failed refresh: %d, %d refreshes", o.Status, rg.refreshes())
				}
				return
			}
			s := o.Session
			if s == nil {
				t.Fatalf("refresh: %d %s", o.Status, o.Log)
			}
			if s.AccessToken == first.AccessToken || (s.IDToken == first.IDToken) != tt.keepsIDToken {
				t.Errorf("the tokens are not the refreshed ones")
			}
			if v, _ := s.Claim("sub"); v != oidctest.Subject {
				t.Errorf("sub after a refresh: %q", v)
			}
			// The refresh renewed the session: it outlives its first
			// session_timeout (an hour after the login).
			rg.clock = rg.clock.Add(58 * time.Minute)
			if o := rg.get("/", sid); o.Session == nil {
				t.Fatalf("a refreshed session ended at its first session_timeout: %d %s", o.Status, o.Log)
			}
		})
	}
}

// TestRefreshOnce sends several requests of one session whose tokens
// expired at once: one refresh (the provider takes each refresh token
// once), and every request gets the refreshed tokens.
func TestRefreshOnce(t *testing.T) {
	rg := refreshRig(t)
	sid := rg.login("/")
	gate := make(chan struct{})
	rg.op.Set(func(p *oidctest.Provider) { p.RefreshHook = func() { <-gate } })
	rg.clock = rg.clock.Add(6 * time.Minute)

	const n = 8
	var started, done sync.WaitGroup
	outs := make([]oidc.Outcome, n)
	for i := range n {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			outs[i] = rg.p.Handle(context.Background(), oidc.Request{Path: "/", RequestURI: "/", Host: "rp.test", Cookie: sid})
		}()
	}
	started.Wait()
	// Hold the first refresh long enough for the others to come: a
	// second refresh within that time fails the test.
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) && rg.refreshes() <= 1 {
		time.Sleep(5 * time.Millisecond)
	}
	close(gate)
	done.Wait()
	if r := rg.refreshes(); r != 1 {
		t.Fatalf("%d refreshes for %d requests at once, want 1", r, n)
	}
	for i, o := range outs {
		if o.Session == nil || o.Session.AccessToken != outs[0].Session.AccessToken {
			t.Fatalf("request %d: %d %s", i, o.Status, o.Log)
		}
	}
}
