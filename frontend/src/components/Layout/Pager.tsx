import { formatInteger } from "../../format";

/** "21–40 of 1,234" with Previous / Next, for a list the API pages with skip and limit. */
export default function Pager({
  skip,
  total,
  pageSize,
  onSkip,
}: {
  readonly skip: number;
  readonly total: number;
  readonly pageSize: number;
  readonly onSkip: (skip: number) => void;
}) {
  return (
    <div className="pager">
      <span className="muted small">
        {total ? `${skip + 1}–${Math.min(skip + pageSize, total)} of ${formatInteger(total)}` : "empty"}
      </span>
      <button type="button" disabled={skip === 0} onClick={() => onSkip(Math.max(0, skip - pageSize))}>
        Previous
      </button>
      <button type="button" disabled={skip + pageSize >= total} onClick={() => onSkip(skip + pageSize)}>
        Next
      </button>
    </div>
  );
}
