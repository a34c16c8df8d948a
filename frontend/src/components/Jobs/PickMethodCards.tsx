import { useQuery } from "@tanstack/react-query";
import { useState } from "react";

import { errorMessage } from "../../api";
import type { MethodPublic } from "../../client";
import { formatCount, formatPercent } from "../../format";
import { estimateQuery } from "../../queries";

const GROUPS: readonly { family: string; title: string }[] = [
  { family: "bottleneck", title: "Series and parallel adapters" },
  { family: "lora", title: "Low-rank (LoRA family)" },
  { family: "prompt", title: "Prompt learning" },
];

/** Method cards grouped by family; each says what the method does and what it would train. */
export default function PickMethodCards({
  methods,
  selected,
  baseModel,
  family,
  selectedAdapter,
  onSelect,
}: {
  readonly methods: readonly MethodPublic[];
  readonly selected: string;
  readonly baseModel: string;
  readonly family: string | undefined;
  /** the selected method's adapter config as set so far, for an exact estimate */
  readonly selectedAdapter: Record<string, unknown> | null;
  readonly onSelect: (method: MethodPublic) => void;
}) {
  const known = new Set(GROUPS.map((g) => g.family));
  const others = methods.filter((m) => !known.has(m.family));
  const [showOthers, setShowOthers] = useState(() => others.some((m) => m.name === selected));
  const card = (m: MethodPublic) => (
    <MethodCard
      key={m.name}
      method={m}
      selected={m.name === selected}
      baseModel={baseModel}
      family={family}
      adapter={m.name === selected && selectedAdapter ? selectedAdapter : { method: m.name }}
      onSelect={() => onSelect(m)}
    />
  );
  return (
    <div className="method-groups">
      {GROUPS.map((g) => {
        const members = methods.filter((m) => m.family === g.family);
        if (!members.length) return null;
        return (
          <div key={g.family}>
            <h3>{g.title}</h3>
            <div className="method-grid">{members.map(card)}</div>
          </div>
        );
      })}
      {others.length > 0 && (
        <div>
          <h3>
            <button type="button" className="link" onClick={() => setShowOthers(!showOthers)}>
              {showOthers ? "▾" : "▸"} Other peft methods ({others.length})
            </button>
          </h3>
          {showOthers && <div className="method-grid">{others.map(card)}</div>}
        </div>
      )}
    </div>
  );
}

function MethodCard({
  method,
  selected,
  baseModel,
  family,
  adapter,
  onSelect,
}: {
  readonly method: MethodPublic;
  readonly selected: boolean;
  readonly baseModel: string;
  readonly family: string | undefined;
  readonly adapter: Record<string, unknown>;
  readonly onSelect: () => void;
}) {
  const refused = family ? method.refused_families[family] : undefined;
  const estimate = useQuery({ ...estimateQuery(baseModel, adapter), enabled: Boolean(baseModel) && !refused });
  return (
    <button
      type="button"
      className={`method-card${refused ? " refused" : ""}`}
      aria-pressed={selected}
      data-method={method.name}
      disabled={Boolean(refused)}
      title={refused}
      onClick={onSelect}
    >
      <span className="name">{method.name}</span>
      <span className="desc">{refused ?? oneLine(method.description)}</span>
      <span className="estimate" data-testid={`estimate-${method.name}`} title={estimateNote(estimate.data?.note, estimate.error)}>
        {refused
          ? "not on this model"
          : estimate.data?.trainable_parameters != null
            ? `${formatCount(estimate.data.trainable_parameters)} trainable (${formatPercent(estimate.data.trainable_percent)})`
            : estimate.data
              ? "no estimate before training"
              : estimate.isError
                ? `not with these settings: ${errorMessage(estimate.error)}`
                : baseModel
                  ? "estimating…"
                  : "pick a model for an estimate"}
      </span>
    </button>
  );
}

/** The whole reason behind a card without an estimate (the card shows its start). */
function estimateNote(note: string | null | undefined, error: Error | null): string | undefined {
  return note ?? (error ? errorMessage(error) : undefined);
}

/** The catalogue's description as one plain line (peft docstrings carry Markdown links). */
function oneLine(text: string): string {
  const plain = text.replace(/\[`?([^`\]]+)`?\]/g, "$1").replace(/`/g, "").trim();
  const end = plain.search(/\.\s/);
  return end > 0 ? plain.slice(0, end + 1) : plain;
}
