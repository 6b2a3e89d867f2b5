/** The account's audit log, newest first: sign-ins, role changes, keys, WordPress, plans (owners and admins). */
import { useState } from "preact/hooks";
import { api, must } from "../api/client";
import { navigate, type ScreenProps } from "../router";
import { when } from "../ui/bits";
import { Empty, PageFooter, usePaged } from "../ui/data";
import { TextField } from "../ui/form";

export default function Audit({ query }: ScreenProps) {
  const action = query.get("action") ?? "";
  const [filter, setFilter] = useState(action);
  const entries = usePaged((cursor) => must(api.GET("/v1/audit", { params: { query: { limit: 50, cursor, action: action || null } } })), [action]);
  return (
    <>
      <form class="toolbar" onSubmit={(e) => { e.preventDefault(); navigate(filter ? `/audit?action=${encodeURIComponent(filter)}` : "/audit"); }}>
        <TextField label="Only the action" value={filter} onValue={setFilter} hint="For example auth.sign_in_failed; empty for all." />
        <button type="submit" class="button secondary">Filter</button>
      </form>
      {entries.items.length > 0 && (
        <table>
          <caption class="visually-hidden">Audit log entries</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">By</th><th scope="col">On</th><th scope="col">Details</th></tr></thead>
          <tbody>
            {entries.items.map((e) => (
              <tr key={e.entry_id}>
                <td>{when(e.at)}</td>
                <td><code>{e.action}</code></td>
                <td>{e.actor}</td>
                <td>{e.target ?? "—"}</td>
                <td class="small">{Object.entries(e.details).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join("; ") || "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {entries.state === "ok" && entries.items.length === 0 && (
        <Empty title={action ? `No ${action} entries` : "Nothing recorded yet"}>Sign-ins, role changes, keys, WordPress connections and plan changes are recorded here.</Empty>
      )}
      <PageFooter list={entries} what="entries" />
    </>
  );
}
