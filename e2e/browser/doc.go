// Package browser holds the end-to-end tests that only a real browser can judge: the compiled
// filter behind the local gateway, called by JavaScript in headless Chromium (driven with
// chromedp) from pages served on other origins. CORS is right only if a browser says so: a
// header-by-header comparison with the Fetch standard cannot show that the browser lets the
// page read the response.
//
// # Notes
//
//   - The tests need /usr/bin/chromium (Debian's chromium package; bash .ci/services.sh
//     installs it). Without it they fail with that instruction — they never skip.
//   - Everything listens on 127.0.0.1; the page and the gateway differ by port, so they are
//     different origins of the same site (cookies for the gateway are sent with
//     credentials: 'include' without third-party cookie rules deciding the outcome).
package browser
