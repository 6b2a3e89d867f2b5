import { render } from "preact";
import { App } from "./app";
import { start } from "./session";
import "./styles.css";

const root = document.getElementById("app")!;
render(<App />, root);
void start();
