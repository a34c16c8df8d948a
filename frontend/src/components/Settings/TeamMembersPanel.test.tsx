import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { MemberPublic, TeamPublic } from "../../client";
import { callsOf, renderWithProviders, stubApiFetch } from "../../test/render";
import TeamMembersPanel from "./TeamMembersPanel";

const team: TeamPublic = { id: 3, name: "research", role: "member", created_at: "2026-01-01T00:00:00Z" };
const members: MemberPublic[] = [
  { user_id: 1, email: "owner@studio.local", full_name: "Olga", role: "owner" },
  { user_id: 2, email: "me@studio.local", full_name: "", role: "member" },
];

afterEach(() => vi.unstubAllGlobals());

describe("TeamMembersPanel", () => {
  it("shows the API's 403 detail when a member tries to add someone", async () => {
    const fetchMock = stubApiFetch({
      "GET /api/v1/teams/3/members": { body: { data: members, count: 2 } },
      "POST /api/v1/teams/3/members": { status: 403, body: { detail: "only a team owner can change members" } },
    });
    renderWithProviders(<TeamMembersPanel team={team} />);
    await screen.findByText("owner@studio.local");
    const form = screen.getByRole("form", { name: "Add member" });
    fireEvent.change(within(form).getByLabelText("Email"), { target: { value: "new@studio.local" } });
    fireEvent.change(within(form).getByLabelText("Role"), { target: { value: "owner" } });
    fireEvent.click(within(form).getByRole("button", { name: "Add member" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("only a team owner can change members");
    const post = fetchMock.mock.calls.map(([r]) => r as Request).find((r) => r.method === "POST");
    expect(await post?.json()).toEqual({ email: "new@studio.local", role: "owner" });
  });

  it("shows the 409 detail when the last owner would be removed", async () => {
    const fetchMock = stubApiFetch({
      "GET /api/v1/teams/3/members": { body: { data: members, count: 2 } },
      "DELETE /api/v1/teams/3/members/1": { status: 409, body: { detail: "a team keeps at least one owner" } },
    });
    renderWithProviders(<TeamMembersPanel team={{ ...team, role: "owner" }} />);
    const row = (await screen.findByText("owner@studio.local")).closest("tr") as HTMLElement;
    fireEvent.click(within(row).getByRole("button", { name: "Remove" }));
    fireEvent.click(within(row).getByRole("button", { name: "Yes, remove" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("a team keeps at least one owner");
    await waitFor(() => expect(callsOf(fetchMock)).toContain("DELETE /api/v1/teams/3/members/1"));
  });
});
