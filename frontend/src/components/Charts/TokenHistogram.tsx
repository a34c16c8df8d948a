import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import type { HistogramPublic } from "../../client";

/** Token lengths of a dataset's records: one bar per bin of `bin_width` tokens. */
export default function TokenHistogram({
  histogram,
  tokenizer,
}: {
  readonly histogram: Readonly<HistogramPublic>;
  readonly tokenizer?: string | null;
}) {
  // Bins below the shortest record carry nothing: start the axis at the first filled bin.
  const first = Math.max(0, histogram.counts.findIndex((c) => c > 0));
  const data = histogram.counts.slice(first).map((count, j) => {
    const i = first + j;
    return { bin: `${i * histogram.bin_width}–${(i + 1) * histogram.bin_width - 1}`, count };
  });
  return (
    <div>
      <ResponsiveContainer width="100%" height={220} initialDimension={{ width: 600, height: 220 }}>
        <BarChart data={data} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="bin" tick={{ fontSize: 11 }} interval="preserveStartEnd" />
          <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={40} />
          <Tooltip formatter={(v) => [v, "records"]} labelFormatter={(l) => `${l} tokens`} />
          <Bar dataKey="count" fill="#4c6ef5" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
      <p className="muted small">
        Tokens per record (prompt and response), bins of {histogram.bin_width}
        {tokenizer ? `, counted with ${tokenizer}` : ""}.
      </p>
    </div>
  );
}
