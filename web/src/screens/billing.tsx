import type { ScreenProps } from "../router";
export default function X(_: ScreenProps) { return <p>todo</p>; }
