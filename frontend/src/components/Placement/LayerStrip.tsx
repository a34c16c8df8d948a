import { clickLayer, isLayerSelected } from "./placementRules";
import type { Layers } from "./placementRules";

/** One cell per transformer layer; "All layers" resets the choice. */
export default function LayerStrip({
  numLayers,
  layers,
  disabled,
  onChange,
}: {
  readonly numLayers: number;
  readonly layers: Layers;
  readonly disabled?: boolean;
  readonly onChange: (layers: Layers) => void;
}) {
  return (
    <div className="layer-picker">
      <div className="row">
        <strong className="small">Layers</strong>
        <label className="inline small">
          <input
            type="checkbox"
            checked={layers === "all"}
            disabled={disabled}
            onChange={(e) => onChange(e.target.checked ? "all" : [])}
          />
          All layers
        </label>
        <span className="muted small">
          {layers === "all"
            ? `all ${numLayers}`
            : typeof layers === "string"
              ? `“${layers}”, as set through the API`
              : layers.length === 0
                ? "none chosen"
                : `${layers.length} of ${numLayers}: ${layers.join(", ")}`}
        </span>
      </div>
      <div className="layer-strip" role="group" aria-label="Layers">
        {Array.from({ length: numLayers }, (_, i) => (
          <button
            key={i}
            type="button"
            className="layer-cell"
            aria-pressed={isLayerSelected(layers, i)}
            aria-label={`layer ${i}`}
            title={`layer ${i}`}
            disabled={disabled}
            onClick={() => onChange(clickLayer(layers, i, numLayers))}
          >
            {i}
          </button>
        ))}
      </div>
    </div>
  );
}
