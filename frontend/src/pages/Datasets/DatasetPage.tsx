import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";

import TokenHistogram from "../../components/Charts/TokenHistogram";
import DeleteDatasetButton from "../../components/Datasets/DeleteDatasetButton";
import Pager from "../../components/Layout/Pager";
import QueryState from "../../components/Layout/QueryState";
import { formatBytes, formatDate, formatInteger } from "../../format";
import { datasetPreviewQuery, datasetQuery } from "../../queries";

const PAGE = 20;

export default function DatasetPage() {
  const id = Number(useParams().datasetId);
  const [skip, setSkip] = useState(0);
  const dataset = useQuery(datasetQuery(id));
  const preview = useQuery({ ...datasetPreviewQuery(id, skip, PAGE), placeholderData: keepPreviousData });
  const ds = dataset.data;
  const stats = ds?.token_stats;
  const total = preview.data?.count ?? 0;
  return (
    <>
      <p className="small">
        <Link to="/datasets">← Datasets</Link>
      </p>
      <QueryState isPending={dataset.isPending} error={dataset.error} what="the dataset" />
      {ds && (
        <>
          <div className="page-head">
            <div>
              <h1>{ds.name}</h1>
              <p className="muted">
                {ds.filename} · {ds.format} · {formatBytes(ds.size_bytes)} · uploaded{" "}
                {formatDate(ds.created_at)}
              </p>
            </div>
            <div className="row">
              <Link className="button primary" to={`/jobs/new?dataset=${ds.id}`}>
                Train on this dataset
              </Link>
              <DeleteDatasetButton datasetId={ds.id} name={ds.name} />
            </div>
          </div>
          <div className="card">
            <div className="stats">
              <Stat label="Rows" value={formatInteger(ds.row_count)} />
              <Stat label="Dropped duplicates" value={formatInteger(ds.dropped_rows)} />
              <Stat label="Min tokens" value={formatInteger(stats?.min)} />
              <Stat label="Median" value={formatInteger(stats?.p50)} />
              <Stat label="p95" value={formatInteger(stats?.p95)} />
              <Stat label="Max tokens" value={formatInteger(stats?.max)} />
            </div>
            <h3>Token lengths</h3>
            {stats?.histogram ? (
              <TokenHistogram histogram={stats.histogram} tokenizer={stats.tokenizer} />
            ) : (
              <p className="chart-empty">No token statistics were computed for this dataset.</p>
            )}
          </div>
          <h2>Records</h2>
          <QueryState isPending={preview.isPending} error={preview.error} what="the preview" />
          {preview.data && (
            <>
              <div className="table-wrap">
                <table aria-label="Dataset preview">
                  <thead>
                    <tr>
                      <th className="num">#</th>
                      <th>Instruction</th>
                      <th>Input</th>
                      <th>Output</th>
                      <th>Answer</th>
                    </tr>
                  </thead>
                  <tbody>
                    {preview.data.data.map((r, i) => (
                      <tr key={skip + i}>
                        <td className="num muted">{skip + i + 1}</td>
                        <td className="cell-text">{r.instruction}</td>
                        <td className="cell-text">{r.input}</td>
                        <td className="cell-text">{r.output}</td>
                        <td>{r.answer}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pager skip={skip} total={total} pageSize={PAGE} onSkip={setSkip} />
            </>
          )}
        </>
      )}
    </>
  );
}

function Stat({ label, value }: { readonly label: string; readonly value: string }) {
  return (
    <div className="stat">
      <div className="label">{label}</div>
      <div className="value">{value}</div>
    </div>
  );
}
