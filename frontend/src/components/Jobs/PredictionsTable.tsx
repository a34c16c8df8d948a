import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";

import type { PredictionPublic } from "../../client";
import { formatInteger } from "../../format";
import { jobPredictionsQuery } from "../../queries";
import Pager from "../Layout/Pager";
import { questionOf } from "./promptQuestion";
import QueryState from "../Layout/QueryState";
import ScoringRuleLabel from "../Results/ScoringRuleLabel";

const PAGE = 25;

/**
 * What the adapter answered on each benchmark question, with the extracted answer and gold. A
 * row shows the question (not the template around it); its full prompt opens on demand.
 * `rule` is the job's scoring rule; a row names its own (the other rule's reading in its tooltip).
 */
export default function PredictionsTable({
  jobId,
  benchmarks,
  rule,
}: {
  readonly jobId: number;
  readonly benchmarks: readonly string[];
  readonly rule: string;
}) {
  const [wrongOnly, setWrongOnly] = useState(false);
  const [benchmark, setBenchmark] = useState("");
  const [skip, setSkip] = useState(0);
  const predictions = useQuery({
    ...jobPredictionsQuery(jobId, { wrongOnly, benchmark, skip, limit: PAGE }),
    placeholderData: keepPreviousData,
  });
  const total = predictions.data?.count ?? 0;
  return (
    <div>
      <div className="row" style={{ marginBottom: "0.5rem" }}>
        <label className="inline">
          <input
            type="checkbox"
            name="wrong_only"
            checked={wrongOnly}
            onChange={(e) => {
              setWrongOnly(e.target.checked);
              setSkip(0);
            }}
          />
          Wrong only
        </label>
        <label className="inline">
          Benchmark
          <select
            value={benchmark}
            onChange={(e) => {
              setBenchmark(e.target.value);
              setSkip(0);
            }}
          >
            <option value="">all</option>
            {benchmarks.map((b) => (
              <option key={b} value={b}>
                {b}
              </option>
            ))}
          </select>
        </label>
        <span className="muted small">
          {formatInteger(total)} predictions, read with the <ScoringRuleLabel rule={rule} />
        </span>
      </div>
      <QueryState isPending={predictions.isPending} error={predictions.error} what="predictions" />
      {predictions.data && predictions.data.data.length === 0 && (
        <p className="empty">
          {wrongOnly ? "No wrong answers here." : "Predictions appear once the final evaluation has run."}
        </p>
      )}
      {predictions.data && predictions.data.data.length > 0 && (
        <>
          <div className="table-wrap">
            <table aria-label="Predictions">
              <thead>
                <tr>
                  <th>Benchmark</th>
                  <th className="num">#</th>
                  <th>Question</th>
                  <th>Answer (the model's output)</th>
                  <th>Extracted</th>
                  <th>Gold</th>
                  <th>Correct</th>
                  <th>Rule</th>
                </tr>
              </thead>
              <tbody>
                {predictions.data.data.map((p) => (
                  <tr key={`${p.benchmark}-${p.index}`}>
                    <td>{p.benchmark}</td>
                    <td className="num muted">{p.index}</td>
                    <td className="cell-text small">
                      <span className="question">{questionOf(p.prompt)}</span>
                      <details className="full-prompt">
                        <summary>full prompt</summary>
                        <pre>{p.prompt}</pre>
                      </details>
                    </td>
                    <td className="cell-text mono">{p.output}</td>
                    <td className="mono">{p.extracted ?? "—"}</td>
                    <td className="mono">{p.gold}</td>
                    <td>{p.correct ? <span className="badge badge-succeeded">yes</span> : <span className="badge badge-failed">no</span>}</td>
                    <td className="small" title={otherReading(p)}>
                      {p.scoring ?? "—"}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager skip={skip} total={total} pageSize={PAGE} onSkip={setSkip} />
        </>
      )}
    </div>
  );
}

/** What the rule not used made of the output, for the rule cell's tooltip. */
function otherReading(p: PredictionPublic): string {
  const other = p.scoring === "strict" ? "paper" : "strict";
  const extracted = other === "paper" ? p.extracted_paper : p.extracted_strict;
  const correct = other === "paper" ? p.correct_paper : p.correct_strict;
  if (correct === null || correct === undefined) return `the ${other} rule's reading was not recorded`;
  return `${other} rule: extracted ${extracted ?? "nothing"}, ${correct ? "correct" : "wrong"}`;
}
