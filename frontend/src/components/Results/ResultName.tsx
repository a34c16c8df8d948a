/** A result's name in the results table; an lm-evaluation-harness task ("harness:<task>") says
 * so, since its score is the harness's metric, not the job's scoring rule. */
export const HARNESS_PREFIX = "harness:";

export default function ResultName({ name }: { readonly name: string }) {
  if (!name.startsWith(HARNESS_PREFIX)) return <>{name}</>;
  return (
    <>
      {name.slice(HARNESS_PREFIX.length)}{" "}
      <span
        className="rule-label"
        data-testid="harness-result"
        title="An lm-evaluation-harness task: scored with the harness's own metric (named in the results download), not the job's scoring rule."
      >
        lm-evaluation-harness
      </span>
    </>
  );
}
