import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { TeamPublic } from "../../client";
import { TeamProvider } from "../../team";
import { renderWithProviders, stubApiFetch } from "../../test/render";
import SwitchTeamSelect from "../Layout/SwitchTeamSelect";
import TeamsPanel from "./TeamsPanel";

const base: TeamPublic = { id: 1, name: "default", role: "owner", created_at: "2026-01-01T00:00:00Z" };

function fakeTeamsApi() {
  const teams: TeamPublic[] = [base];
  return stubApiFetch({
    "GET /api/v1/teams": () => ({ body: { data: teams, count: teams.length } }),
    "GET /api/v1/teams/1/members": { body: { data: [], count: 0 } },
    "GET /api/v1/teams/2/members": { body: { data: [], count: 0 } },
    "POST /api/v1/teams": async (request) => {
      const { name } = (await request.json()) as { name: string };
      if (teams.some((t) => t.name === name)) return { status: 409, body: { detail: `a team named '${name}' exists` } };
      const team = { ...base, id: 2, name };
      teams.push(team);
      return { status: 201, body: team };
    },
  });
}

function renderWithSwitcher() {
  renderWithProviders(
    <TeamProvider>
      <SwitchTeamSelect />
      <TeamsPanel />
    </TeamProvider>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("TeamsPanel", () => {
  it("creates a team that the team switcher lists at once", async () => {
    fakeTeamsApi();
    renderWithSwitcher();
    await screen.findByRole("table", { name: "Teams" });
    fireEvent.change(screen.getByLabelText("Team name"), { target: { value: "research" } });
    fireEvent.click(screen.getByRole("button", { name: "Create team" }));
    const switcher = screen.getByRole("combobox", { name: "Team" });
    await waitFor(() => expect(within(switcher).getByRole("option", { name: "research" })).toBeInTheDocument());
    expect(await screen.findByRole("heading", { name: /Members of research/ })).toBeInTheDocument();
  });

  it("shows the 409 detail of a taken name", async () => {
    fakeTeamsApi();
    renderWithSwitcher();
    await screen.findByRole("table", { name: "Teams" });
    fireEvent.change(screen.getByLabelText("Team name"), { target: { value: "default" } });
    fireEvent.click(screen.getByRole("button", { name: "Create team" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("a team named 'default' exists");
  });
});
