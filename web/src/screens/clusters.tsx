/** Clusters: their sizes and members, and ideas generated for the chosen ones. */
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { href, type ScreenProps } from "../router";
import { can } from "../session";
import { Can, ConfirmButton, notify, plural } from "../ui/bits";
import { Async, Empty, ErrorBox, Loading, PageFooter, useLoad, usePaged } from "../ui/data";
import { SelectField } from "../ui/form";
import { SectorSelect, StartJob, sitePath, useSectors, useSelection } from "./shared";

export default function Clusters({ params }: ScreenProps) {
  const siteId = params.site!;
  const sectors = useSectors(siteId);
  const [sector, setSector] = useState("");
  const [perCluster, setPerCluster] = useState("2");
  const clusters = usePaged(
    (cursor) => must(api.GET("/v1/sites/{site_id}/clusters", {
      params: { path: { site_id: siteId }, query: { limit: 50, cursor, sector_id: sector || undefined } },
    })),
    [siteId, sector],
  );
  const selection = useSelection();
  const ids = [...selection.selected];
  const names = new Map((sectors.data ?? []).map((s) => [s.sector_id, s.name]));
  const writable = can("POST /v1/sites/{site_id}/jobs");
  return (
    <>
      <Async value={sectors} what="sectors">
        {(list) => <div class="toolbar"><SectorSelect sectors={list} value={sector} onValue={setSector} allowAll /></div>}
      </Async>
      {clusters.state === "ok" && clusters.items.length === 0 && (
        <Empty title="No clusters yet">
          Clusters group keywords of one topic. Cluster the pending keywords from the{" "}
          <a href={href(sitePath(siteId, "/keywords"))}>keywords page</a>.
        </Empty>
      )}
      {writable && clusters.items.length > 0 && (
        <div class="toolbar" role="group" aria-label="Ideas for the selected clusters">
          <SelectField label="Ideas per cluster" value={perCluster} onValue={setPerCluster}
            options={["1", "2", "3", "5"].map((n) => ({ value: n, label: n }))} />
          <StartJob siteId={siteId} stage="generate_ideas" disabled={ids.length === 0}
            label={ids.length ? `Generate ideas for ${plural(ids.length, "cluster")}` : "Select clusters to generate ideas"}
            body={{ item_ids: ids, filter: { ideas_per_cluster: Number(perCluster) } }}
            onFinished={() => { selection.clear(); clusters.reload(); }}
            hint="Each idea costs idea credits." />
        </div>
      )}
      {clusters.items.length > 0 && (
        <table>
          <caption class="visually-hidden">Clusters</caption>
          <thead>
            <tr>
              {writable && <th scope="col"><span class="visually-hidden">Select</span></th>}
              <th scope="col">Cluster</th>
              <th scope="col">Sector</th>
              <th scope="col" class="num">Keywords</th>
              <th scope="col" class="num">Ideas</th>
              <th scope="col">Members</th>
            </tr>
          </thead>
          <tbody>
            {clusters.items.map((c) => (
              <ClusterRow key={c.cluster_id} siteId={siteId} cluster={c} sector={names.get(c.sector_id) ?? "—"}
                selectable={writable} selected={selection.has(c.cluster_id)}
                onSelect={(on) => selection.toggle(c.cluster_id, on)} onChange={clusters.reload} />
            ))}
          </tbody>
        </table>
      )}
      <PageFooter list={clusters} what="clusters" />
    </>
  );
}

function ClusterRow({ siteId, cluster, sector, selectable, selected, onSelect, onChange }: {
  siteId: string; cluster: Schemas["ClusterOut"]; sector: string; selectable: boolean; selected: boolean;
  onSelect: (on: boolean) => void; onChange: () => void;
}) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <tr>
      {selectable && (
        <td>
          <input type="checkbox" aria-label={`Select cluster ${cluster.name}`} checked={selected}
            onChange={(e) => onSelect((e.target as HTMLInputElement).checked)} />
        </td>
      )}
      <td>
        <strong>{cluster.name}</strong>
        {cluster.description && <p class="small muted">{cluster.description}</p>}
      </td>
      <td>{sector}</td>
      <td class="num">{cluster.keyword_count}</td>
      <td class="num">{cluster.idea_count}</td>
      <td>
        <button type="button" class="button small secondary" aria-expanded={open}
          onClick={() => setOpen(!open)}>{open ? "Hide" : "Show"} {plural(cluster.keyword_count, "member")}</button>{" "}
        <Can op="DELETE /v1/sites/{site_id}/clusters/{cluster_id}">
          <ConfirmButton label="Delete" confirm={`Delete cluster ${cluster.name}? Its keywords go back to pending.`}
            onConfirm={async () => {
              try {
                await must(api.DELETE("/v1/sites/{site_id}/clusters/{cluster_id}", {
                  params: { path: { site_id: siteId, cluster_id: cluster.cluster_id } },
                }));
                notify(`Cluster ${cluster.name} deleted`);
                onChange();
              } catch (e) {
                setError(e);
              }
            }} />
        </Can>
        {error ? <ErrorBox error={error} /> : null}
        {open && <Members siteId={siteId} clusterId={cluster.cluster_id} />}
      </td>
    </tr>
  );
}

function Members({ siteId, clusterId }: { siteId: string; clusterId: string }) {
  const members = useLoad(() => must(api.GET("/v1/sites/{site_id}/keywords", {
    params: { path: { site_id: siteId }, query: { cluster_id: clusterId, limit: 100 } },
  })), [clusterId]);
  if (members.state === "loading") return <Loading what="members" />;
  if (members.state === "error") return <ErrorBox error={members.error} retry={members.reload} />;
  return (
    <ul class="members small">
      {members.data.items.map((k) => <li key={k.keyword_id}>{k.keyword}{k.search_volume ? ` (${k.search_volume})` : ""}</li>)}
      {members.data.next_cursor && <li class="muted">and more…</li>}
    </ul>
  );
}
