import { useState } from "react";
import type { KeyboardEvent, ReactNode } from "react";

import type { MethodPublic } from "../../client";
import LayerStrip from "./LayerStrip";
import {
  LINEARS,
  SUBLAYER_LABEL,
  canClickLinear,
  canClickSlot,
  canClickSublayer,
  clickModule,
  clickSlot,
  defaultPlacement,
  isModuleSelected,
  isSlotSelected,
  pickerRules,
  positionText,
} from "./placementRules";
import type { Placement, Sublayer } from "./placementRules";

/**
 * One transformer block drawn in SVG: attention (q k v o) and MLP (gate up down), with the
 * places a bottleneck adapter can sit before, after or beside each sublayer. Only what the
 * chosen method offers for the chosen model's family can be clicked.
 */
export default function PlacementPicker({
  method,
  family,
  numLayers,
  placement,
  onChange,
}: {
  readonly method: MethodPublic;
  readonly family: string | undefined;
  readonly numLayers: number | null | undefined;
  readonly placement: Placement;
  readonly onChange: (placement: Placement) => void;
}) {
  const rules = pickerRules(method, family);
  const [rawName, setRawName] = useState("");
  const addRawName = () => {
    const names = rawName.split(",").map((n) => n.trim()).filter(Boolean);
    if (!names.length) return;
    const current = placement.modules ?? [];
    onChange({ ...placement, modules: [...current, ...names.filter((n) => !current.includes(n))] });
    setRawName("");
  };

  const slot = (sublayer: Sublayer, position: string, x: number, y: number, w: number) => {
    const label = `${position} ${SUBLAYER_LABEL[sublayer]}`;
    return (
      <Spot
        key={label}
        label={label}
        x={x}
        y={y}
        w={w}
        h={24}
        allowed={canClickSlot(rules, sublayer, position)}
        selected={isSlotSelected(placement, sublayer, position)}
        onClick={() => onChange(clickSlot(placement, sublayer, position))}
      >
        {label}
      </Spot>
    );
  };

  const linear = (word: string, x: number, y: number) => (
    <Spot
      key={word}
      label={word}
      x={x}
      y={y}
      w={54}
      h={30}
      allowed={canClickLinear(rules, word)}
      selected={isModuleSelected(placement, word)}
      onClick={() => onChange(clickModule(placement, word, rules))}
    >
      {word}
    </Spot>
  );

  const sublayerBox = (sublayer: Sublayer, y: number, h: number, body: ReactNode) => (
    <g>
      <rect className="sublayer" x={40} y={y} width={280} height={h} rx={8} />
      <Spot
        label={`whole ${SUBLAYER_LABEL[sublayer]}`}
        x={48}
        y={y + 6}
        w={264}
        h={22}
        allowed={canClickSublayer(rules, sublayer)}
        selected={isModuleSelected(placement, sublayer)}
        onClick={() => onChange(clickModule(placement, sublayer, rules))}
        title
      >
        {sublayer === "attn" ? "Attention" : "MLP"}
      </Spot>
      {body}
    </g>
  );

  return (
    <div className="placement" data-testid="placement-picker">
      <svg
        className="block-drawing"
        viewBox="0 0 480 490"
        role="group"
        aria-label="Transformer block: where the adapter goes"
      >
        <rect className="frame" x={20} y={30} width={450} height={430} rx={12} />
        <text className="caption" x={30} y={22}>
          one transformer block (× {numLayers ?? "?"} layers) · input ↓
        </text>
        <path className="wire" d="M180 30 V40 M180 64 V76 M180 196 V208 M180 232 V248 M180 272 V284 M180 404 V416 M180 440 V470" />
        <path className="wire" d="M320 136 H336 M320 344 H336" strokeDasharray="3 3" />
        {slot("attn", "before", 90, 40, 180)}
        {sublayerBox(
          "attn",
          76,
          120,
          <>
            {["q", "k", "v"].map((w, i) => linear(w, 75 + i * 75, 112))}
            {linear(LINEARS.attn[3] as string, 150, 154)}
          </>,
        )}
        {slot("attn", "beside", 336, 124, 128)}
        {slot("attn", "after", 90, 208, 180)}
        {slot("mlp", "before", 90, 248, 180)}
        {sublayerBox(
          "mlp",
          284,
          120,
          <>
            {linear("gate", 75, 322)}
            {linear("up", 150, 322)}
            {linear("down", 225, 322)}
            <text className="caption" x={60} y={386}>
              gate and up feed down (gate only in LLaMA-like families)
            </text>
          </>,
        )}
        {slot("mlp", "beside", 336, 332, 128)}
        {slot("mlp", "after", 90, 416, 180)}
        <text className="caption" x={190} y={484}>
          output ↓ next block
        </text>
      </svg>
      <div className="placement-note">
        {rules.reason ? (
          <p className="muted" data-testid="placement-reason">
            {rules.reason}
          </p>
        ) : (
          <>
            <p className="muted small">
              {rules.positions.length
                ? `A ${method.name} adapter sits ${rules.positions.join(" or ")} a module: click a highlighted place.`
                : `${method.name} changes the chosen linear layers themselves: click the layers to adapt.`}
            </p>
            <div>
              <strong className="small">Chosen: </strong>
              {placement.modules === null ? (
                <span className="muted small">
                  the method's own default targets{placement.position ? ` · position: ${placement.position}` : ""}
                </span>
              ) : (
                <span className="chips">
                  {placement.modules.map((m) => (
                    <span className="chip" key={m}>
                      {m}
                      <button
                        type="button"
                        aria-label={`remove ${m}`}
                        onClick={() => onChange({ ...placement, modules: (placement.modules ?? []).filter((x) => x !== m) })}
                      >
                        ×
                      </button>
                    </span>
                  ))}
                  {placement.position && <span className="muted small">position: {positionText(placement)}</span>}
                </span>
              )}
            </div>
            {method.accepts_raw_module_names && rules.takesModules && (
              <div className="raw-names">
                <label>
                  <span className="small">Or name modules of the model itself</span>
                  <input
                    name="placement.raw_names"
                    value={rawName}
                    placeholder="e.g. q_proj, mlp.down_proj"
                    onChange={(e) => setRawName(e.target.value)}
                    onKeyDown={(e) => {
                      if (e.key === "Enter") {
                        e.preventDefault();
                        addRawName();
                      }
                    }}
                  />
                </label>
                <button type="button" onClick={addRawName} disabled={!rawName.trim()}>
                  Add
                </button>
              </div>
            )}
            {rules.takesLayers && numLayers ? (
              <LayerStrip
                numLayers={numLayers}
                layers={placement.layers}
                onChange={(layers) => onChange({ ...placement, layers })}
              />
            ) : null}
            <button
              type="button"
              className="link small"
              onClick={() => onChange(defaultPlacement(method))}
            >
              Reset to the method's default placement
            </button>
          </>
        )}
      </div>
    </div>
  );
}

function Spot({
  label,
  x,
  y,
  w,
  h,
  allowed,
  selected,
  onClick,
  title,
  children,
}: {
  readonly label: string;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly allowed: boolean;
  readonly selected: boolean;
  readonly onClick: () => void;
  readonly title?: boolean;
  readonly children: ReactNode;
}) {
  const act = () => {
    if (allowed) onClick();
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      act();
    }
  };
  const cls = ["spot", allowed ? "allowed" : "", selected ? "selected" : "", title ? "title" : ""]
    .filter(Boolean)
    .join(" ");
  return (
    <g
      className={cls}
      role="button"
      aria-label={label}
      aria-pressed={selected}
      aria-disabled={!allowed}
      tabIndex={allowed ? 0 : -1}
      onClick={act}
      onKeyDown={onKeyDown}
      data-spot={label}
    >
      <title>{allowed ? label : `${label} (not offered by this method)`}</title>
      <rect x={x} y={y} width={w} height={h} rx={5} />
      <text x={x + w / 2} y={y + h / 2 + 4} textAnchor="middle">
        {children}
      </text>
    </g>
  );
}
