import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { TokenCreated, TokenPublic } from "../../client";
import { callsOf, renderWithProviders, stubApiFetch } from "../../test/render";
import ApiTokensPanel from "./ApiTokensPanel";

const SECRET = "sst_abcdefgh_0123456789secret";

const listed: TokenPublic = {
  id: 4,
  name: "laptop",
  prefix: "sst_zzzz",
  kind: "api",
  created_at: "2026-01-01T00:00:00Z",
  expires_at: null,
  last_used_at: null,
  revoked_at: null,
};

/** An API that keeps its tokens in memory, like the service: the list never has the secret. */
function fakeTokenApi() {
  const tokens: TokenPublic[] = [listed];
  return stubApiFetch({
    "GET /api/v1/tokens": () => ({ body: { data: tokens, count: tokens.length } }),
    "POST /api/v1/tokens": async (request) => {
      const { name } = (await request.json()) as { name: string };
      const row: TokenPublic = { ...listed, id: 5, name, prefix: "sst_abcd", created_at: "2026-02-01T00:00:00Z" };
      tokens.push(row);
      return { status: 201, body: { ...row, token: SECRET } satisfies TokenCreated };
    },
    "DELETE /api/v1/tokens/4": () => {
      tokens[0] = { ...listed, revoked_at: "2026-03-01T00:00:00Z" };
      return { body: { message: "token sst_zzzz… revoked" } };
    },
  });
}

afterEach(() => vi.unstubAllGlobals());

describe("ApiTokensPanel", () => {
  it("shows a created token once: gone after dismissing it and from a reloaded list", async () => {
    const fetchMock = fakeTokenApi();
    const view = renderWithProviders(<ApiTokensPanel />);
    await screen.findByText("laptop");
    fireEvent.change(screen.getByLabelText("Token name"), { target: { value: "ci" } });
    fireEvent.click(screen.getByRole("button", { name: "Create token" }));

    const box = await screen.findByRole("region", { name: "New token" });
    expect(within(box).getByLabelText("Token value")).toHaveValue(SECRET);
    expect(box).toHaveTextContent("It will not be shown again");
    expect(callsOf(fetchMock)).toContain("POST /api/v1/tokens");
    // the list is read again and shows the new token by its prefix only
    const table = await screen.findByRole("table", { name: "API tokens" });
    await within(table).findByText("ci");
    expect(table).not.toHaveTextContent(SECRET);

    fireEvent.click(within(box).getByRole("button", { name: "I have copied it" }));
    expect(screen.queryByRole("region", { name: "New token" })).toBeNull();
    expect(screen.queryByDisplayValue(SECRET)).toBeNull();

    // a fresh screen (a reload) lists the token and never its secret
    view.unmount();
    renderWithProviders(<ApiTokensPanel />);
    const reloaded = await screen.findByRole("table", { name: "API tokens" });
    await within(reloaded).findByText("ci");
    expect(document.body).not.toHaveTextContent(SECRET);
    expect(screen.queryByDisplayValue(SECRET)).toBeNull();
  });

  it("revokes a token after a confirm, through DELETE /tokens/{id}", async () => {
    const fetchMock = fakeTokenApi();
    renderWithProviders(<ApiTokensPanel />);
    const row = (await screen.findByText("laptop")).closest("tr") as HTMLElement;
    fireEvent.click(within(row).getByRole("button", { name: "Revoke" }));
    expect(callsOf(fetchMock)).not.toContain("DELETE /api/v1/tokens/4"); // only asked so far
    fireEvent.click(within(row).getByRole("button", { name: "Yes, revoke" }));
    await waitFor(() => expect(callsOf(fetchMock)).toContain("DELETE /api/v1/tokens/4"));
    expect(await within(row).findByText("revoked")).toBeInTheDocument();
    expect(within(row).queryByRole("button", { name: "Revoke" })).toBeNull();
  });

  it("keeps a token when the confirm is declined", async () => {
    const fetchMock = fakeTokenApi();
    renderWithProviders(<ApiTokensPanel />);
    const row = (await screen.findByText("laptop")).closest("tr") as HTMLElement;
    fireEvent.click(within(row).getByRole("button", { name: "Revoke" }));
    fireEvent.click(within(row).getByRole("button", { name: "Keep" }));
    expect(within(row).getByRole("button", { name: "Revoke" })).toBeInTheDocument();
    expect(callsOf(fetchMock).filter((c) => c.startsWith("DELETE"))).toEqual([]);
  });
});
