/**
 * What the placement picker lets a user click, derived only from the method catalogue
 * (GET /methods) and the base model's family — a new method needs no change here.
 */
import type { MethodPublic } from "../../client";

export type Layers = "all" | number[];

/** The placement of the job config: family-independent words, layers and a position. */
export interface Placement {
  modules: string[] | null;
  layers: Layers;
  position: string | null;
}

export type Sublayer = "attn" | "mlp";
export const SUBLAYERS: readonly Sublayer[] = ["attn", "mlp"];
export const SUBLAYER_LABEL: Record<Sublayer, string> = { attn: "attention", mlp: "MLP" };
export const LINEARS: Record<Sublayer, readonly string[]> = {
  attn: ["q", "k", "v", "o"],
  mlp: ["gate", "up", "down"],
};
export const POSITIONS = ["before", "after", "beside"] as const;
export type Position = (typeof POSITIONS)[number];

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

export function isSlotSelected(p: Placement, sublayer: Sublayer, position: string): boolean {
  return p.position === position && (p.modules ?? []).includes(sublayer);
}

export function isModuleSelected(p: Placement, word: string): boolean {
  return (p.modules ?? []).includes(word);
}

function toggle(list: readonly string[], word: string): string[] {
  return list.includes(word) ? list.filter((w) => w !== word) : [...list, word];
}

/** Clicking a slot: another position starts over there; the same position toggles the word. */
export function clickSlot(p: Placement, sublayer: Sublayer, position: string): Placement {
  if (p.position !== position) return { ...p, modules: [sublayer], position };
  return { ...p, modules: toggle(p.modules ?? [], sublayer) };
}

/** Clicking a module word toggles it; a bottleneck method keeps (or takes its first) position. */
export function clickModule(p: Placement, word: string, rules: PickerRules): Placement {
  const position = rules.positions.length ? (p.position ?? rules.positions[0] ?? null) : null;
  return { ...p, modules: toggle(p.modules ?? [], word), position };
}

/** Clicking a layer cell: from "all" it leaves that layer out; a full list becomes "all". */
export function clickLayer(layers: Layers, index: number, numLayers: number): Layers {
  const current = layers === "all" ? Array.from({ length: numLayers }, (_, i) => i) : layers;
  const next = current.includes(index)
    ? current.filter((i) => i !== index)
    : [...current, index].sort((a, b) => a - b);
  return next.length === numLayers ? "all" : next;
}

export function isLayerSelected(layers: Layers, index: number): boolean {
  return layers === "all" || layers.includes(index);
}

/** The placement a method starts with (the paper's best where the paper has one). */
export function defaultPlacement(method: MethodPublic): Placement {
  const d = method.default_placement;
  return {
    modules: d.modules ? [...d.modules] : null,
    layers: typeof d.layers === "string" ? "all" : [...d.layers],
    position: d.position,
  };
}

/** What is wrong with a placement before the server says so (null when fine). */
export function placementProblem(p: Placement, rules: PickerRules): string | null {
  if (rules.takesModules && p.modules !== null && p.modules.length === 0) {
    return "Pick at least one place in the block, or reset to the method's default.";
  }
  if (rules.takesLayers && p.layers !== "all" && p.layers.length === 0) {
    return "Pick at least one layer, or all of them.";
  }
  return null;
}

/** The placement as the job config wants it. */
export function placementForConfig(p: Placement, rules: PickerRules): Record<string, unknown> {
  if (!rules.takesModules) return { modules: null, layers: "all", position: null };
  return { modules: p.modules, layers: p.layers, position: p.position };
}

/** A placement read back from a stored job config (clone-and-edit). */
export function placementFromConfig(raw: unknown, fallback: Placement): Placement {
  if (!raw || typeof raw !== "object") return fallback;
  const r = raw as Record<string, unknown>;
  let modules = Array.isArray(r.modules) ? r.modules.map(String) : null;
  let position = typeof r.position === "string" ? r.position : null;
  // 'after_mlp'-style shorthand: modules ['mlp'], position 'after'
  const shorthand = position?.match(/^(before|after|beside)_(attn|mlp)$/);
  if (shorthand) {
    position = shorthand[1] ?? null;
    modules = [shorthand[2] as string];
  }
  let layers: Layers = "all";
  if (Array.isArray(r.layers)) layers = r.layers.map(Number);
  else if (typeof r.layers === "string" && r.layers !== "all") {
    const m = r.layers.match(/^(\d+)\s*-\s*(\d+)$/);
    if (m) {
      const [a, b] = [Number(m[1]), Number(m[2])];
      layers = Array.from({ length: b - a + 1 }, (_, i) => a + i);
    } else if (/^\d+$/.test(r.layers)) layers = [Number(r.layers)];
  }
  return { modules, layers, position };
}
