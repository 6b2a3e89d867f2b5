import { defineConfig } from "vite";

declare const process: { env: Record<string, string | undefined> };

// The console is served from the API's origin (CloudFront in the cloud, infra/local's console
// server locally), so it calls /v1 with relative URLs and needs no CORS. `npx vite` (a dev server
// with hot reload) forwards /v1 to a running `make run`.
export default defineConfig({
  build: {
    target: "es2022",
    // Every browser the console supports has modulepreload; the polyfill would be an inline script
    // (the console's Content-Security-Policy allows none).
    modulePreload: { polyfill: false },
    manifest: true,
    sourcemap: false,
    assetsInlineLimit: 0,
  },
  server: {
    proxy: { "/v1": process.env.CONSOLE_API ?? "http://127.0.0.1:8000" },
  },
});
