import type { UploadError, UploadProblem } from "../../client";

/** True when an error body is the service's UploadError ({detail, problems}). */
export function isUploadError(body: unknown): body is UploadError {
  return (
    typeof body === "object" &&
    body !== null &&
    "detail" in body &&
    "problems" in body &&
    Array.isArray((body as UploadError).problems)
  );
}

function byRowThenField(a: UploadProblem, b: UploadProblem): number {
  const ra = a.row ?? -1;
  const rb = b.row ?? -1;
  if (ra !== rb) return ra - rb;
  return (a.field ?? "").localeCompare(b.field ?? "");
}

/** The reasons an upload was refused, one line per problem, ordered by row and field. */
export default function UploadProblemsTable({ error }: { readonly error: UploadError }) {
  const problems = [...error.problems].sort(byRowThenField);
  return (
    <div className="upload-problems" role="alert">
      <p className="error-box">{error.detail}</p>
      {problems.length > 0 && (
        <div className="table-wrap" style={{ marginTop: "0.5rem" }}>
          <table aria-label="Upload problems">
            <thead>
              <tr>
                <th className="num">Row</th>
                <th>Field</th>
                <th>Problem</th>
              </tr>
            </thead>
            <tbody>
              {problems.map((p, i) => (
                <tr key={i}>
                  <td className="num">{p.row ?? "—"}</td>
                  <td>{p.field ? <code>{p.field}</code> : "—"}</td>
                  <td>{p.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
