import { useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "react-router";

import UploadDatasetZone from "../../components/Datasets/UploadDatasetZone";
import QueryState from "../../components/Layout/QueryState";
import { formatBytes, formatDate, formatInteger } from "../../format";
import { benchmarksQuery, datasetsQuery } from "../../queries";
import { useTeam } from "../../team";

export default function DatasetsPage() {
  const { teamId } = useTeam();
  const navigate = useNavigate();
  const datasets = useQuery(datasetsQuery(teamId));
  const benchmarks = useQuery(benchmarksQuery());
  const rows = datasets.data?.data ?? [];
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Datasets</h1>
          <p className="muted">Training data of your team, validated and counted when uploaded.</p>
        </div>
      </div>
      <UploadDatasetZone teamId={teamId} />
      <h2>Training datasets</h2>
      <QueryState isPending={datasets.isPending} error={datasets.error} what="datasets" />
      {datasets.isSuccess && rows.length === 0 && (
        <p className="empty">No datasets yet: drop a JSON, JSON Lines or CSV file above.</p>
      )}
      {rows.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Datasets">
            <thead>
              <tr>
                <th>Name</th>
                <th>File</th>
                <th className="num">Rows</th>
                <th className="num">Mean tokens</th>
                <th className="num">Size</th>
                <th>Uploaded</th>
                <th>In use</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr key={d.id} className="clickable" onClick={() => navigate(`/datasets/${d.id}`)}>
                  <td>
                    <Link to={`/datasets/${d.id}`} onClick={(e) => e.stopPropagation()}>
                      {d.name}
                    </Link>
                  </td>
                  <td className="muted">
                    {d.filename} <span className="small">({d.format})</span>
                  </td>
                  <td className="num">{formatInteger(d.row_count)}</td>
                  <td className="num">
                    {d.token_stats.mean != null ? d.token_stats.mean.toFixed(1) : "—"}
                  </td>
                  <td className="num">{formatBytes(d.size_bytes)}</td>
                  <td>{formatDate(d.created_at)}</td>
                  <td>{d.in_use ? "yes" : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Benchmark sets</h2>
      <p className="muted small">
        The paper's evaluation sets, scored by their own rules. An administrator imports them
        (POST /api/v1/benchmarks/import); a job can evaluate on any imported one.
      </p>
      <QueryState isPending={benchmarks.isPending} error={benchmarks.error} what="benchmarks" />
      {benchmarks.data && (
        <div className="table-wrap">
          <table aria-label="Benchmarks">
            <thead>
              <tr>
                <th>Benchmark</th>
                <th>Suite</th>
                <th>Scorer</th>
                <th className="num">Rows</th>
                <th>About</th>
              </tr>
            </thead>
            <tbody>
              {benchmarks.data.data.map((b) => (
                <tr key={b.name}>
                  <td>
                    <strong>{b.name}</strong>
                  </td>
                  <td>{b.suite}</td>
                  <td className="muted">{b.scorer}</td>
                  <td className="num">
                    {b.imported ? formatInteger(b.row_count) : <span className="muted">not imported</span>}
                  </td>
                  <td className="muted small">{b.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
