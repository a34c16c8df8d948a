import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { useNavigate, useSearchParams } from "react-router";

import type { LeaderboardRow } from "../../client";
import AccuracyParamsScatter from "../../components/Charts/AccuracyParamsScatter";
import QueryState from "../../components/Layout/QueryState";
import { formatBytes, formatCount, formatDate, formatDuration, formatPercent } from "../../format";
import { benchmarksQuery, leaderboardQuery, methodsQuery } from "../../queries";
import type { LeaderboardParams } from "../../queries";
import { useTeam } from "../../team";

type ServerSort = NonNullable<LeaderboardParams["sort"]>;

interface Column {
  key: string;
  nowrap?: boolean;
  label: string;
  num?: boolean;
  /** sorted by the service when it can; by this value here otherwise */
  server?: ServerSort;
  value: (r: LeaderboardRow) => string | number | null;
  show: (r: LeaderboardRow) => ReactNode;
}

export function placementText(p: Record<string, unknown>): string {
  const layers = p.layers && p.layers !== "all" ? ` · layers ${Array.isArray(p.layers) ? p.layers.join(",") : String(p.layers)}` : "";
  // One position per module ({"gate": "before", "down": "after"}): "before gate, before up, after down".
  if (p.position && typeof p.position === "object") {
    const positions = p.position as Record<string, string>;
    const modules = Array.isArray(p.modules) ? (p.modules as string[]) : Object.keys(positions);
    return `${modules.map((m) => (positions[m] ? `${positions[m]} ${m}` : m)).join(", ")}${layers}`;
  }
  const modules = Array.isArray(p.modules) ? p.modules.join(", ") : "default";
  const position = typeof p.position === "string" ? `${p.position} ` : "";
  return `${position}${modules}${layers}`;
}

/** "20 of 1,000", "1,319 of 1,319", "20 of ?" (full size unknown) or "—". */
export function examplesText(r: Pick<LeaderboardRow, "examples" | "examples_full">): string {
  if (r.examples === null) return "—";
  const full = r.examples_full === null ? "?" : r.examples_full.toLocaleString("en-US");
  return `${r.examples.toLocaleString("en-US")} of ${full}`;
}

const COLUMNS: Column[] = [
  { key: "accuracy", label: "Accuracy", num: true, server: "accuracy", value: (r) => r.accuracy, show: (r) => `${r.accuracy.toFixed(1)} %` },
  { key: "job_name", label: "Run", value: (r) => r.job_name, show: (r) => r.job_name },
  { key: "method", label: "Method", value: (r) => r.method, show: (r) => r.method },
  { key: "placement", label: "Placement", value: (r) => placementText(r.placement), show: (r) => placementText(r.placement) },
  { key: "base_model", label: "Base model", value: (r) => r.base_model, show: (r) => r.base_model },
  {
    key: "examples",
    label: "Examples",
    num: true,
    nowrap: true,
    value: (r) => r.examples,
    // the paper scored its published figures on the whole test sets
    show: (r) => (r.published && r.examples === null ? "full test set" : examplesText(r)),
  },
  {
    // One column for how the score was obtained (three narrow ones made the table scroll at 1440 px).
    key: "scoring",
    label: "Evaluated with",
    value: (r) => `${r.scoring ?? ""} ${r.decoding} ${r.prompt_template}`,
    show: (r) => (
      <>
        <div title="scoring rule">{r.scoring ?? "—"}</div>
        <div className="muted small" title="decoding">{r.decoding}</div>
        <div className="muted small" title="prompt template">{r.prompt_template}</div>
      </>
    ),
  },
  {
    key: "trainable_parameters",
    label: "Trainable",
    num: true,
    server: "trainable_parameters",
    value: (r) => r.trainable_parameters,
    show: (r) => (
      <>
        <div>{formatCount(r.trainable_parameters)}</div>
        {r.trainable_percent !== null && <div className="muted small" title="of the base model's parameters">{formatPercent(r.trainable_percent)}</div>}
      </>
    ),
  },
  { key: "peak_memory_bytes", label: "Peak memory", num: true, server: "peak_memory_bytes", value: (r) => r.peak_memory_bytes, show: (r) => formatBytes(r.peak_memory_bytes) },
  { key: "wall_seconds", label: "Wall time", num: true, server: "wall_seconds", value: (r) => r.wall_seconds, show: (r) => formatDuration(r.wall_seconds) },
  {
    key: "finished_at",
    label: "Finished",
    server: "finished_at",
    value: (r) => r.finished_at,
    show: (r) => (
      <>
        <div className="nowrap">{formatDate(r.finished_at)}</div>
        {r.owner_email && <div className="muted small">{r.owner_email}</div>}
      </>
    ),
  },
];

function compare(a: string | number | null, b: string | number | null): number {
  if (a === null && b === null) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b));
}

export default function LeaderboardPage() {
  const { teamId } = useTeam();
  const navigate = useNavigate();
  const [search, setSearch] = useSearchParams();
  const scope = search.get("scope") ?? "arithmetic";
  const sortKey = search.get("sort") ?? "accuracy";
  const descending = search.get("order") !== "asc";
  const method = search.get("method") ?? "";
  // Rows scored on a sample rank after full-set rows unless the user mixes them in.
  const samples = search.get("samples") === "together" ? "together" : "apart";
  const column = COLUMNS.find((c) => c.key === sortKey) ?? (COLUMNS[0] as Column);

  const benchmarks = useQuery(benchmarksQuery());
  const methods = useQuery(methodsQuery());
  const board = useQuery({
    ...leaderboardQuery({
      scope,
      team_id: teamId,
      method: method || undefined,
      sort: column.server ?? "accuracy",
      descending,
      samples,
    }),
    placeholderData: keepPreviousData,
  });

  const set = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(search);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setSearch(next, { replace: true });
  };
  const sortBy = (key: string) =>
    set({ sort: key, order: key === sortKey ? (descending ? "asc" : "desc") : key === "accuracy" ? "desc" : "asc" });

  const rows = [...(board.data?.data ?? [])];
  if (!column.server) rows.sort((a, b) => (descending ? -1 : 1) * compare(column.value(a), column.value(b)));
  if (samples === "apart") rows.sort((a, b) => Number(a.sampled) - Number(b.sampled)); // stable
  const anySampled = rows.some((r) => r.sampled);

  const suites = benchmarks.data?.suites ?? ["arithmetic", "commonsense"];
  // Harness tasks are the team's own (whatever it evaluated); the board lists those with scores,
  // and a scope chosen from a link stays selectable before the board answers.
  const harnessScopes = [...(board.data?.harness_scopes ?? [])];
  if (scope.startsWith("harness:") && !harnessScopes.includes(scope)) harnessScopes.push(scope);
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Leaderboard</h1>
          <p className="muted">
            Your team's finished jobs ranked by accuracy, beside the paper's published figures.
          </p>
        </div>
      </div>
      <div className="row" style={{ marginBottom: "0.75rem" }}>
        <label className="inline">
          Scope
          <select name="scope" value={scope} onChange={(e) => set({ scope: e.target.value })}>
            <optgroup label="Suites (average)">
              {suites.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </optgroup>
            <optgroup label="Benchmarks">
              {(benchmarks.data?.data ?? []).map((b) => (
                <option key={b.name} value={b.name}>
                  {b.name}
                </option>
              ))}
            </optgroup>
            {(harnessScopes.length > 0 || scope === "harness") && (
              <optgroup label="lm-evaluation-harness">
                <option value="harness">harness (average)</option>
                {harnessScopes.map((h) => (
                  <option key={h} value={h}>
                    {h.slice("harness:".length)}
                  </option>
                ))}
              </optgroup>
            )}
          </select>
        </label>
        <label className="inline">
          Method
          <select name="method" value={method} onChange={(e) => set({ method: e.target.value })}>
            <option value="">any</option>
            {(methods.data?.data ?? []).map((m) => (
              <option key={m.name} value={m.name}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          <input
            type="checkbox"
            name="samples"
            checked={samples === "together"}
            onChange={(e) => set({ samples: e.target.checked ? "together" : null })}
          />
          Rank runs scored on a sample with full-set runs
        </label>
        {board.data && (
          <span className="muted small">
            averaged over {board.data.benchmarks.join(", ")}
          </span>
        )}
      </div>
      <QueryState isPending={board.isPending} error={board.error} what="the leaderboard" />
      {board.data && rows.length === 0 && (
        <p className="empty">No finished job has been evaluated on {scope} yet.</p>
      )}
      {rows.length > 0 && (
        <>
          <div className="card">
            <h3>Accuracy against trainable parameters</h3>
            <AccuracyParamsScatter rows={rows.filter((r) => !r.published)} />
          </div>
          <div className="table-wrap" style={{ marginTop: "1rem" }}>
            <table aria-label="Leaderboard">
              <thead>
                <tr>
                  <th className="num">#</th>
                  {COLUMNS.map((c) => (
                    <th
                      key={c.key}
                      className={c.num ? "num" : undefined}
                      aria-sort={c.key === column.key ? (descending ? "descending" : "ascending") : undefined}
                    >
                      <button type="button" className="sort" onClick={() => sortBy(c.key)}>
                        {c.label}
                      </button>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((r, i) => (
                  <tr
                    key={r.job_id ?? `published-${r.job_name}`}
                    className={[r.published ? "published" : "clickable", r.sampled ? "sampled" : ""].filter(Boolean).join(" ")}
                    data-job-id={r.job_id ?? undefined}
                    onClick={() => {
                      if (r.job_id !== null) navigate(`/jobs/${r.job_id}`);
                    }}
                  >
                    <td className="num muted">{i + 1}</td>
                    {COLUMNS.map((c) => (
                      <td key={c.key} className={c.num ? "num" : c.nowrap ? "nowrap" : undefined}>
                        {c.show(r)}
                        {c.key === "job_name" && r.published && (
                          <>
                            {" "}
                            <span className="badge badge-published" title={r.published_table ?? undefined}>
                              published
                            </span>
                            {r.published_table && <div className="muted small published-source">{r.published_table}</div>}
                          </>
                        )}
                        {c.key === "examples" && r.sampled && (
                          <>
                            {" "}
                            <span className="badge badge-sample" title="scored on a sample of the benchmark's examples">
                              sample
                            </span>
                          </>
                        )}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="muted small">
            Published rows are the paper's reported figures (LLM-Adapters, Hu et al. 2023, its README's arithmetic and commonsense tables), scored on the full test
            sets with its rules, 4-beam decoding and its prompts.
            {anySampled && samples === "apart" && " Runs marked “sample” were scored on part of a benchmark and rank after the full-set rows."}
          </p>
        </>
      )}
    </>
  );
}
