// Package dashboard serves fulcrum's live dashboard (the dashboard
// directive): one HTML page, its script and its style sheet, embedded in
// the binary, that poll the runtime API (the api directive) every second
// and show the process, its connections and requests, and every upstream
// server's state and traffic, with buttons to drain, take down and bring up
// a server when the API allows writes.
//
// The page loads nothing from elsewhere (no fonts, scripts or images from
// another origin) and has no inline script or style, so it runs offline and
// under the strict Content-Security-Policy it is sent with.
package dashboard
