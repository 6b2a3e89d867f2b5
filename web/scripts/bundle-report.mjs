// After `vite build`: the gzipped JavaScript of the first screen, printed and checked against the budget.
//
// The first screen is what dist/index.html makes the browser fetch before anything is clicked:
// its module script and every chunk it preloads (Vite lists the entry's static imports as
// modulepreload links). Screens loaded on demand are listed apart. The figure is also written to
// dist/bundle-report.json for the tests and the docs.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_KB = 200;
const dist = new URL("../dist/", import.meta.url).pathname;
const html = readFileSync(join(dist, "index.html"), "utf8");

const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
const kb = (bytes) => (bytes / 1024).toFixed(1);

const firstScreen = [
  ...html.matchAll(/<script[^>]+type="module"[^>]+src="\/([^"]+\.js)"/g),
  ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="\/([^"]+\.js)"/g),
].map((m) => m[1]);
if (firstScreen.length === 0) throw new Error("bundle-report: no module script in dist/index.html");

const all = readdirSync(join(dist, "assets")).filter((f) => f.endsWith(".js")).map((f) => `assets/${f}`);
const lazy = all.filter((f) => !firstScreen.includes(f));
const firstBytes = firstScreen.reduce((sum, f) => sum + gz(f), 0);
const lazyRows = lazy.map((f) => [f, gz(f)]).sort((a, b) => b[1] - a[1]);

const report = {
  budget_kb: BUDGET_KB,
  first_screen_gzip_bytes: firstBytes,
  first_screen_files: firstScreen,
  lazy_chunks: Object.fromEntries(lazyRows),
  all_js_gzip_bytes: firstBytes + lazyRows.reduce((s, [, b]) => s + b, 0),
};
writeFileSync(join(dist, "bundle-report.json"), JSON.stringify(report, null, 2) + "\n");

console.log(
  `console bundle: first screen ${kb(firstBytes)} KB of JavaScript gzipped (budget ${BUDGET_KB} KB; ` +
    `${firstScreen.join(", ")}); ${lazyRows.length} screens on demand, largest ` +
    `${lazyRows.slice(0, 3).map(([f, b]) => `${f.replace(/^assets\/|-[\w-]+\.js$/g, "")} ${kb(b)} KB`).join(", ")}; ` +
    `all JavaScript ${kb(report.all_js_gzip_bytes)} KB gzipped`,
);
if (firstBytes > BUDGET_KB * 1024) {
  console.error(`bundle-report: the first screen is over its ${BUDGET_KB} KB budget`);
  process.exit(1);
}
