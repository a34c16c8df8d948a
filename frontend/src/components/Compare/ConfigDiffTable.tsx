import { useState } from "react";

import type { JobPublic } from "../../client";
import { diffConfigs, formatValue } from "./configDiff";

/** The jobs' configs side by side as dotted paths; rows where they differ are highlighted. */
export default function ConfigDiffTable({ jobs }: { readonly jobs: readonly Readonly<JobPublic>[] }) {
  const [onlyDiffering, setOnlyDiffering] = useState(false);
  const rows = diffConfigs(jobs.map((j) => j.config));
  const differing = rows.filter((r) => r.differs).length;
  const shown = onlyDiffering ? rows.filter((r) => r.differs) : rows;
  return (
    <div>
      <div className="row" style={{ marginBottom: "0.5rem" }}>
        <span className="muted small" data-testid="diff-count">
          {differing} of {rows.length} settings differ
        </span>
        <label className="inline small">
          <input type="checkbox" checked={onlyDiffering} onChange={(e) => setOnlyDiffering(e.target.checked)} />
          Only what differs
        </label>
      </div>
      <div className="table-wrap">
        <table aria-label="Config differences">
          <thead>
            <tr>
              <th>Setting</th>
              {jobs.map((j) => (
                <th key={j.id}>
                  #{j.id} {j.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.path} className={r.differs ? "differs" : undefined} data-differs={r.differs}>
                <td className="mono">{r.path}</td>
                {r.values.map((v, i) => (
                  <td key={i} className="mono">
                    {formatValue(v)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
