import type { ReactElement } from "react";
import { ResponsiveContainer } from "recharts";

/** A chart of fixed height and the card's width (600 px until the browser measures). */
export default function ChartFrame({
  height = 240,
  children,
}: {
  readonly height?: number;
  readonly children: ReactElement;
}) {
  return (
    <ResponsiveContainer width="100%" height={height} initialDimension={{ width: 600, height }}>
      {children}
    </ResponsiveContainer>
  );
}
