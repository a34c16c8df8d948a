import "@testing-library/jest-dom/vitest";

import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

import { client } from "../api";

afterEach(() => cleanup());

// Node's fetch needs absolute URLs; the browser resolves the client's relative /api/v1 paths.
client.setConfig({ baseUrl: "http://localhost" });

// jsdom has no layout: Recharts' ResponsiveContainer needs a ResizeObserver to exist.
class NoResizeObserver {
  observe(): void {}
  unobserve(): void {}
  disconnect(): void {}
}
globalThis.ResizeObserver ??= NoResizeObserver as unknown as typeof ResizeObserver;

// …and it measures every element as 0 × 0, so a ResponsiveContainer would draw nothing: give the
// chart's container a size (and only it: a legend measured that tall would leave no plot area).
const measure = HTMLElement.prototype.getBoundingClientRect;
HTMLElement.prototype.getBoundingClientRect = function getBoundingClientRect(): DOMRect {
  if (this.classList.contains("recharts-responsive-container")) {
    return { x: 0, y: 0, top: 0, left: 0, right: 600, bottom: 240, width: 600, height: 240, toJSON: () => ({}) } as DOMRect;
  }
  return measure.call(this);
};
