/** What each scoring rule means, for the label's tooltip (docs/benchmarks.md has the details). */
export const RULE_MEANING: Record<string, string> = {
  paper:
    "Scored with the paper rule: the LLM-Adapters evaluate.py answer extraction, quirks included, so the score compares with the paper's tables.",
  strict:
    "Scored with the strict rule: whole words and standalone letters; a careful reading, not comparable with the paper's tables.",
};

/** The scoring rule a score was read with, shown beside it ("paper rule", "strict rule"). */
export default function ScoringRuleLabel({ rule }: { readonly rule: string | null | undefined }) {
  const name = rule ?? "unknown";
  return (
    <span className="rule-label" data-testid="scoring-rule" title={RULE_MEANING[name] ?? "The rule of these scores was not recorded."}>
      {name} rule
    </span>
  );
}
