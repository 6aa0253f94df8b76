// Package browser holds end-to-end tests that drive the example apps in a
// real headless Chromium (Debian's chromium package, see
// scripts/browser-deps.sh) through github.com/chromedp/chromedp. The apps
// run in-process on loopback ports; screenshots go to artifacts/.
package browser
