/**
 * What the placement picker lets a user click, derived only from the method catalogue
 * (GET /methods) and the base model's family — a new method needs no change here.
 * Whether a placement is valid is the API's call (POST /methods/estimate answers 422 naming the
 * problem); this module only knows what the picker draws.
 */
import type { MethodPublic, PlacementConfigOutput } from "../../client";

/** The placement of the job config (family-independent words, layers and a position). */
export type Placement = PlacementConfigOutput;

/**
 * "all", the indices the layer strip picked, or another string the API accepted (a range like
 * "0-11" set through REST): kept as written, since reading it is the engine's job.
 */
export type Layers = Placement["layers"];

export type Sublayer = "attn" | "mlp";
export const SUBLAYERS: readonly Sublayer[] = ["attn", "mlp"];
export const SUBLAYER_LABEL: Record<Sublayer, string> = { attn: "attention", mlp: "MLP" };
export const LINEARS: Record<Sublayer, readonly string[]> = {
  attn: ["q", "k", "v", "o"],
  mlp: ["gate", "up", "down"],
};
export interface PickerRules {
  /** placement words this method offers on this family */
  words: ReadonlySet<string>;
  /** bottleneck methods: where the adapter sits relative to a module; [] for the others */
  positions: readonly string[];
  takesModules: boolean;
  takesLayers: boolean;
  /** why nothing (or not everything) can be clicked, in one sentence */
  reason: string | null;
}

export function pickerRules(method: MethodPublic, family: string | undefined): PickerRules {
  const refused = family ? method.refused_families[family] : undefined;
  if (refused) {
    return { words: new Set(), positions: [], takesModules: false, takesLayers: false, reason: refused };
  }
  const words = (family && method.words_by_family[family]) || method.placement_words;
  const takesModules = words.length > 0;
  let reason: string | null = null;
  if (!takesModules) {
    reason =
      method.family === "prompt"
        ? `${method.name} trains virtual tokens that every layer sees, so it takes no modules and no layers.`
        : `${method.name} takes no placement on this model.`;
  }
  return {
    words: new Set(words),
    positions: method.positions,
    takesModules,
    takesLayers: method.takes_layers && takesModules,
    reason,
  };
}

/** A bottleneck "slot": the adapter goes before, after or beside a whole sublayer. */
export function canClickSlot(rules: PickerRules, sublayer: Sublayer, position: string): boolean {
  return rules.positions.includes(position) && rules.words.has(sublayer);
}

/** A linear layer (q, k, v, o, gate, up, down). */
export function canClickLinear(rules: PickerRules, word: string): boolean {
  return rules.words.has(word);
}

/** The whole sublayer as one word ("attn", "mlp") for methods that change modules in place. */
export function canClickSublayer(rules: PickerRules, sublayer: Sublayer): boolean {
  return rules.positions.length === 0 && rules.words.has(sublayer);
}

type PositionMap = { [word: string]: string };

/** A per-module position (`{"gate": "before", "down": "after"}`) as the engine takes it. */
function positionMap(p: Placement): PositionMap | null {
  return p.position !== null && typeof p.position === "object" ? p.position : null;
}

/** The one position every placed word shares, when the placement has no per-module map. */
function sharedPosition(p: Placement): string | null {
  return typeof p.position === "string" ? p.position : null;
}

/** The words a placement names: its modules, or the keys of a per-module position. */
function placedWords(p: Placement): string[] {
  const map = positionMap(p);
  return p.modules ?? (map ? Object.keys(map) : []);
}

/** Where `word` sits: its own entry of a per-module position, or the one shared position. */
export function positionOf(p: Placement, word: string): string | null {
  const map = positionMap(p);
  return map ? (map[word] ?? null) : sharedPosition(p);
}

/** The position in words, for a per-module position too ("gate before, down after"). */
export function positionText(p: Placement): string {
  const map = positionMap(p);
  if (!map) return sharedPosition(p) ?? "";
  return Object.entries(map)
    .map(([word, where]) => `${word} ${where}`)
    .join(", ");
}

export function isSlotSelected(p: Placement, sublayer: Sublayer, position: string): boolean {
  return placedWords(p).includes(sublayer) && positionOf(p, sublayer) === position;
}

export function isModuleSelected(p: Placement, word: string): boolean {
  return placedWords(p).includes(word);
}

function toggle(list: readonly string[], word: string): string[] {
  return list.includes(word) ? list.filter((w) => w !== word) : [...list, word];
}

/** Clicking a slot: another position starts over there; the same position toggles the word. */
export function clickSlot(p: Placement, sublayer: Sublayer, position: string): Placement {
  const map = positionMap(p);
  if (map) {
    // Per-module positions: the click sets (or clears) this word's own position only.
    const next: PositionMap = { ...map };
    if (next[sublayer] === position) delete next[sublayer];
    else next[sublayer] = position;
    const words = Object.keys(next);
    return { ...p, modules: words.length ? words : null, position: words.length ? next : null };
  }
  if (p.position !== position) return { ...p, modules: [sublayer], position };
  return { ...p, modules: toggle(p.modules ?? [], sublayer) };
}

/** Clicking a module word toggles it; a bottleneck method keeps (or takes its first) position. */
export function clickModule(p: Placement, word: string, rules: PickerRules): Placement {
  const map = positionMap(p);
  if (map) {
    const next: PositionMap = { ...map };
    if (word in next) delete next[word];
    else next[word] = rules.positions[0] ?? "after";
    const words = Object.keys(next);
    return { ...p, modules: words.length ? words : null, position: words.length ? next : null };
  }
  const position = rules.positions.length ? (p.position ?? rules.positions[0] ?? null) : null;
  return { ...p, modules: toggle(p.modules ?? [], word), position };
}

/**
 * Clicking a layer cell: from "all" it leaves that layer out; a full list becomes "all". A
 * range written through the API is not read here: a click starts a list from that one layer.
 */
export function clickLayer(layers: Layers, index: number, numLayers: number): Layers {
  const current = layers === "all" ? Array.from({ length: numLayers }, (_, i) => i) : typeof layers === "string" ? [] : layers;
  const next = current.includes(index)
    ? current.filter((i) => i !== index)
    : [...current, index].sort((a, b) => a - b);
  return next.length === numLayers ? "all" : next;
}

export function isLayerSelected(layers: Layers, index: number): boolean {
  return layers === "all" || (Array.isArray(layers) && layers.includes(index));
}

/** The placement a method starts with (the paper's best where the paper has one). */
export function defaultPlacement(method: MethodPublic): Placement {
  const d = method.default_placement;
  return {
    modules: d.modules ? [...d.modules] : null,
    layers: typeof d.layers === "string" ? d.layers : [...d.layers],
    position: d.position,
  };
}

/** The placement as the job config wants it. */
export function placementForConfig(p: Placement, rules: PickerRules): Record<string, unknown> {
  if (!rules.takesModules) return { modules: null, layers: "all", position: null };
  return { modules: p.modules, layers: p.layers, position: p.position };
}
