import type { MethodPresetPublic } from "../../client";
import { describePreset } from "./jobDraft";

/**
 * Start from the paper's settings: one option per preset "as in the paper" (GET /methods). Picking
 * one fills the form; the summary says what it set, and every field stays editable below.
 */
export default function PickPresetSelect({
  presets,
  picked,
  onPick,
}: {
  readonly presets: readonly MethodPresetPublic[];
  readonly picked: MethodPresetPublic | null;
  readonly onPick: (preset: MethodPresetPublic | null) => void;
}) {
  if (!presets.length) return null;
  return (
    <div className="preset-picker">
      <label>
        Start from a preset
        <select
          name="preset"
          value={picked?.name ?? ""}
          onChange={(e) => onPick(presets.find((p) => p.name === e.target.value) ?? null)}
        >
          <option value="">none: set everything below by hand</option>
          {presets.map((p) => (
            <option key={p.name} value={p.name}>
              {p.label}
            </option>
          ))}
        </select>
        <span className="field-help">
          The settings of the LLM-Adapters paper's runs: method, placement, parameters, training, prompt template,
          decoding and scoring.
        </span>
      </label>
      {picked && (
        <div className="preset-summary" data-testid="preset-summary" role="status">
          <strong>{picked.label}</strong>: {picked.description}.
          <ul>
            {describePreset(picked).map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
          <span className="small muted">Every field below stays editable; an edit keeps the rest of the preset.</span>
        </div>
      )}
    </div>
  );
}
