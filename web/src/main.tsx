import { render } from "preact";
import { App } from "./app";
import { start } from "./session";
import "./styles.css";

// An address given as a path (the pages e-mailed links open: /accept-invite?token=…) is served
// index.html by the console's server and CloudFront; the app's own addresses are hashes.
if (location.pathname !== "/" && location.pathname !== "/index.html" && !location.hash) {
  history.replaceState(null, "", `/#${location.pathname}${location.search}`);
}

const root = document.getElementById("app")!;
render(<App />, root);
void start();
