package daemon

import (
	"net/http"

	"fulcrum/internal/browser"
	"fulcrum/internal/config"
	"fulcrum/internal/errpage"
)

// This file holds nginx's answers that depend on the browser, by the
// first User-Agent field as ngx_http_process_user_agent marks it:
// keepalive_disable, msie_padding and msie_refresh.

// keepaliveDisabled reports whether keepalive_disable closes the
// connection after r, as nginx's ngx_http_update_location_config does:
// a POST from Internet Explorer 6 or older (msie6, the default), or any
// request from Safari on macOS (safari), by the first User-Agent field.
func keepaliveDisabled(r *http.Request, set *config.Settings) bool {
	k := set.KeepaliveDisable
	msie6 := k&config.KeepaliveKeepMSIE6 == 0 && r.Method == http.MethodPost
	safari := k&config.KeepaliveCloseSafari != 0
	if !msie6 && !safari {
		return false // the default on anything but a POST: no User-Agent to look at
	}
	ua := r.Header.Get("User-Agent")
	if ua == "" {
		return false
	}
	return msie6 && browser.MSIE6(ua) || safari && browser.Safari(ua)
}

// pageQuirks is what nginx changes on its own page for code for the
// request's browser (errpage.Quirks): msie_padding's comments for
// Internet Explorer and Chrome, and msie_refresh's page that refreshes to
// location (as the configuration gave it) for Internet Explorer.
func (w *recorder) pageQuirks(code int, location string) errpage.Quirks {
	if w.req == nil {
		return errpage.Quirks{}
	}
	ua := w.req.Header.Get("User-Agent")
	if ua == "" {
		return errpage.Quirks{}
	}
	var q errpage.Quirks
	set := w.set
	if set == nil || !set.MSIEPaddingOff {
		q.Padding = browser.MSIE(ua) || browser.Chrome(ua)
	}
	if set != nil && set.MSIERefresh && (code == http.StatusMovedPermanently || code == http.StatusFound) && browser.MSIE(ua) {
		q.RefreshTo = location
	}
	return q
}

// refusedQuirks is msie_padding for the page of a head the engine refused
// (answerAndClose): nginx pads it when the User-Agent field that marks
// Internet Explorer or Chrome was read before the refusal (a bad field or
// a too long one after it, a bad or missing Host), and not when the
// request line or a field before it was the fault (nginx 1.22.1, raw
// sockets). The msie_padding of the server the head belongs to decides
// (paddingOff, see clientConn.pageLook).
func (cc *clientConn) refusedQuirks(paddingOff bool) errpage.Quirks {
	if paddingOff {
		return errpage.Quirks{}
	}
	ua := cc.req.Headers.Get("User-Agent")
	if len(ua) == 0 {
		return errpage.Quirks{}
	}
	s := string(ua)
	return errpage.Quirks{Padding: browser.MSIE(s) || browser.Chrome(s)}
}
