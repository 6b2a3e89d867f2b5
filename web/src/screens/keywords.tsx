/** A site's keywords: filter by sector and status, add one, change or delete many, cluster the pending ones. */
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { href, type ScreenProps } from "../router";
import { can } from "../session";
import { Badge, Can, ConfirmButton, notify } from "../ui/bits";
import { Async, Empty, ErrorBox, PageFooter, usePaged } from "../ui/data";
import { FormError, SelectField, Submit, TextField, useSubmit } from "../ui/form";
import { BulkResult, SectorSelect, StartJob, sitePath, useSectors, useSelection } from "./shared";

type Status = NonNullable<Schemas["BulkKeywordStatus"]["status"]>;
const STATUSES: Status[] = ["pending", "clustered", "used", "archived"];

export default function Keywords({ params, query }: ScreenProps) {
  const siteId = params.site!;
  const sectors = useSectors(siteId);
  const [sector, setSector] = useState(query.get("sector") ?? "");
  const [status, setStatus] = useState(query.get("status") ?? "");
  const keywords = usePaged(
    (cursor) => must(api.GET("/v1/sites/{site_id}/keywords", {
      params: { path: { site_id: siteId }, query: {
        limit: 50, cursor, sector_id: sector || undefined, status: (status || undefined) as Status | undefined,
      } },
    })),
    [siteId, sector, status],
  );
  const selection = useSelection();
  const [bulk, setBulk] = useState<Schemas["BulkOut"] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const ids = [...selection.selected];
  const bulkAct = async (work: () => Promise<Schemas["BulkOut"]>) => {
    setError(null);
    try {
      const out = await work();
      setBulk(out);
      selection.clear();
      keywords.reload();
    } catch (e) {
      setError(e);
    }
  };
  const names = new Map((sectors.data ?? []).map((s) => [s.sector_id, s.name]));
  const writable = can("POST /v1/sites/{site_id}/keywords/bulk-status");
  return (
    <>
      <div class="toolbar">
        <Can op="POST /v1/sites/{site_id}/keywords/import">
          <a class="button" href={href(sitePath(siteId, "/keywords/import"))}>Import keywords</a>
        </Can>
        <StartJob siteId={siteId} stage="cluster_keywords" label="Cluster pending keywords"
          body={sector ? { filter: { sector_id: sector } } : {}} onFinished={keywords.reload}
          hint="Groups pending keywords into topic clusters (costs idea credits)." />
      </div>
      <Async value={sectors} what="sectors">
        {(list) => (
          <div class="toolbar">
            <SectorSelect sectors={list} value={sector} onValue={setSector} allowAll />
            <SelectField label="Status" value={status} onValue={setStatus}
              options={[{ value: "", label: "Any status" }, ...STATUSES.map((s) => ({ value: s, label: s }))]} />
          </div>
        )}
      </Async>
      {writable && ids.length > 0 && (
        <div class="toolbar" role="group" aria-label="Change the selected keywords">
          <span>{ids.length} selected</span>
          <button type="button" class="button secondary" onClick={() => bulkAct(() => must(api.POST(
            "/v1/sites/{site_id}/keywords/bulk-status", { params: { path: { site_id: siteId } }, body: { ids, status: "archived" } })))}>
            Archive
          </button>
          <button type="button" class="button secondary" onClick={() => bulkAct(() => must(api.POST(
            "/v1/sites/{site_id}/keywords/bulk-status", { params: { path: { site_id: siteId } }, body: { ids, status: "pending" } })))}>
            Mark pending
          </button>
          <ConfirmButton label="Delete" confirm={`Delete ${ids.length} keywords?`} onConfirm={() => bulkAct(() => must(api.POST(
            "/v1/sites/{site_id}/keywords/bulk-delete", { params: { path: { site_id: siteId } }, body: { ids } })))} />
        </div>
      )}
      <BulkResult result={bulk} what="keyword" />
      {error ? <ErrorBox error={error} /> : null}
      {keywords.state === "ok" && keywords.items.length === 0 && (
        <Empty title={sector || status ? "No keywords match these filters" : "No keywords yet"}>
          {can("POST /v1/sites/{site_id}/keywords/import")
            ? <>Import a CSV or paste a list on the <a href={href(sitePath(siteId, "/keywords/import"))}>import page</a>.</>
            : "An editor of your account can import them."}
        </Empty>
      )}
      {keywords.items.length > 0 && (
        <table>
          <caption class="visually-hidden">Keywords</caption>
          <thead>
            <tr>
              {writable && (
                <th scope="col">
                  <input type="checkbox" aria-label="Select all keywords shown"
                    checked={keywords.items.every((k) => selection.has(k.keyword_id))}
                    onChange={(e) => selection.setAll(keywords.items.map((k) => k.keyword_id), (e.target as HTMLInputElement).checked)} />
                </th>
              )}
              <th scope="col">Keyword</th>
              <th scope="col">Sector</th>
              <th scope="col" class="num">Volume</th>
              <th scope="col" class="num">Difficulty</th>
              <th scope="col" class="num">CPC</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {keywords.items.map((k) => (
              <tr key={k.keyword_id}>
                {writable && (
                  <td>
                    <input type="checkbox" aria-label={`Select ${k.keyword}`} checked={selection.has(k.keyword_id)}
                      onChange={(e) => selection.toggle(k.keyword_id, (e.target as HTMLInputElement).checked)} />
                  </td>
                )}
                <td>{k.keyword}</td>
                <td>{names.get(k.sector_id) ?? "—"}</td>
                <td class="num">{k.search_volume ?? "—"}</td>
                <td class="num">{k.difficulty ?? "—"}</td>
                <td class="num">{k.cpc ?? "—"}</td>
                <td><Badge status={k.status} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <PageFooter list={keywords} what="keywords" />
      <Can op="POST /v1/sites/{site_id}/keywords">
        {sectors.data && sectors.data.length > 0 && (
          <AddKeyword siteId={siteId} sectors={sectors.data} onAdded={() => { notify("Keyword added"); keywords.reload(); }} />
        )}
      </Can>
    </>
  );
}

function AddKeyword({ siteId, sectors, onAdded }: { siteId: string; sectors: Schemas["SectorOut"][]; onAdded: () => void }) {
  const [keyword, setKeyword] = useState("");
  const [sector, setSector] = useState(sectors[0]?.sector_id ?? "");
  const submit = useSubmit(async () => {
    await must(api.POST("/v1/sites/{site_id}/keywords", {
      params: { path: { site_id: siteId } }, body: { keyword, sector_id: sector },
    }));
    setKeyword("");
    onAdded();
  });
  return (
    <form class="stack" aria-labelledby="add-keyword" onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
      <h2 id="add-keyword">Add one keyword</h2>
      <FormError error={submit.error} action="The keyword was not added" />
      <div class="row">
        <TextField label="Keyword" required value={keyword} onValue={setKeyword} error={submit.fieldErrors.keyword} />
        <SectorSelect sectors={sectors} value={sector} onValue={setSector} />
      </div>
      <div>
        <Submit busy={submit.busy}>Add keyword</Submit>
      </div>
    </form>
  );
}
