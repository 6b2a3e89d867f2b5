/** Keyword import: drop a CSV file or paste a list; every rejected row is listed with its reason. */
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { href, type ScreenProps } from "../router";
import { notify, plural } from "../ui/bits";
import { Async, Empty } from "../ui/data";
import { FormError, Submit, TextArea, useSubmit } from "../ui/form";
import { SectorSelect, StartJob, sitePath, useSectors } from "./shared";

type ImportOut = Schemas["ImportOut"];
// A pasted text with one of these column names in its first line is a CSV; otherwise one keyword per line.
const CSV_HEADER = /^\s*"?(keywords?|query|term)"?\s*([,;\t]|$)/i;

export default function KeywordImport({ params }: ScreenProps) {
  const siteId = params.site!;
  const sectors = useSectors(siteId);
  return (
    <Async value={sectors} what="sectors">
      {(list) =>
        list.length === 0 ? (
          <Empty title="Add a sector first">
            Keywords belong to a sector. <a href={href(sitePath(siteId))}>Add one on the site page</a>.
          </Empty>
        ) : (
          <Importer siteId={siteId} sectors={list} />
        )
      }
    </Async>
  );
}

function Importer({ siteId, sectors }: { siteId: string; sectors: Schemas["SectorOut"][] }) {
  const [sector, setSector] = useState(sectors[0]!.sector_id);
  const [text, setText] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [over, setOver] = useState(false);
  const [result, setResult] = useState<ImportOut | null>(null);
  const path = { site_id: siteId };

  const submit = useSubmit(async () => {
    setResult(null);
    let out: ImportOut;
    if (file || CSV_HEADER.test(text)) {
      // The file's bytes as they are: the API reads UTF-8 (with or without BOM) and Windows-1252.
      const body = file ? await file.arrayBuffer() : text;
      out = await must(api.POST("/v1/sites/{site_id}/keywords/import.csv", {
        params: { path, query: { sector_id: sector } },
        body: body as unknown as string,
        bodySerializer: (b: unknown) => b,
        headers: { "Content-Type": "text/csv" },
      }));
    } else {
      const keywords = text.split(/\r?\n/).filter((line) => line.trim() !== "");
      out = await must(api.POST("/v1/sites/{site_id}/keywords/import", { params: { path }, body: { sector_id: sector, keywords } }));
    }
    setResult(out);
    notify(`${plural(out.created, "keyword")} imported, ${plural(out.skipped_duplicates, "duplicate")} skipped, ${out.rejected} rejected`);
  });

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const dropped = e.dataTransfer?.files?.[0];
    if (dropped) setFile(dropped);
  };

  return (
    <>
      <form class="stack" onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
        <SectorSelect sectors={sectors} value={sector} onValue={setSector} label="Import into sector" />
        <div class={`dropzone${over ? " over" : ""}`} onDragOver={(e) => { e.preventDefault(); setOver(true); }}
          onDragLeave={() => setOver(false)} onDrop={onDrop}>
          <p>Drop a CSV file here, or choose one:</p>
          <label class="visually-hidden" for="csv-file">CSV file</label>
          <input id="csv-file" type="file" accept=".csv,text/csv,text/plain"
            onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)} />
          {file && (
            <p>
              {file.name} ({Math.ceil(file.size / 1024)} KB){" "}
              <button type="button" class="linkish" onClick={() => setFile(null)}>Remove</button>
            </p>
          )}
          <p class="hint">Columns: keyword, and optionally search_volume, difficulty, cpc. Up to 10,000 rows.</p>
        </div>
        {!file && (
          <TextArea label="Or paste keywords" rows={8} value={text} onValue={setText}
            hint="One keyword per line, or a CSV with its header row." />
        )}
        <FormError error={submit.error} action="The import failed" />
        <div>
          <Submit busy={submit.busy} busyLabel="Importing…">Import</Submit>
        </div>
      </form>
      {result && <ImportResult result={result} />}
      {result && result.created > 0 && (
        <section aria-labelledby="then">
          <h2 id="then">Next: cluster them</h2>
          <StartJob siteId={siteId} stage="cluster_keywords" label="Cluster pending keywords"
            body={{ filter: { sector_id: sector } }}
            hint="Groups the sector's pending keywords into topic clusters (costs idea credits)." />
          <p><a href={href(sitePath(siteId, "/clusters"))}>See the clusters</a></p>
        </section>
      )}
    </>
  );
}

function ImportResult({ result }: { result: ImportOut }) {
  return (
    <section aria-labelledby="result" class="import-result">
      <h2 id="result">Import result</h2>
      <div class="cards">
        <div class="card"><p class="figure">{result.created}</p><p>new keywords</p></div>
        <div class="card"><p class="figure">{result.skipped_duplicates}</p><p>duplicates skipped</p></div>
        <div class="card"><p class="figure">{result.rejected}</p><p>rows rejected</p></div>
        <div class="card"><p class="figure">{result.total_rows}</p><p>rows read</p></div>
      </div>
      {result.rejected_rows.length > 0 && (
        <table class="rejected-rows">
          <caption>Rejected rows: fix them and import them again</caption>
          <thead><tr><th scope="col" class="num">Row</th><th scope="col">Keyword</th><th scope="col">Reason</th></tr></thead>
          <tbody>
            {result.rejected_rows.map((r) => (
              <tr key={`${r.row}-${r.line ?? ""}`}>
                <td class="num">{r.row}{r.line != null ? ` (line ${r.line})` : ""}</td>
                <td>{r.keyword || <span class="muted">(empty)</span>}</td>
                <td>{r.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {result.duplicate_rows.length > 0 && (
        <details>
          <summary>{plural(result.duplicate_rows.length, "duplicate row")} skipped</summary>
          <ul>
            {result.duplicate_rows.map((r) => (
              <li key={r.row}>Row {r.row}: {r.keyword} ({r.reason})</li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
