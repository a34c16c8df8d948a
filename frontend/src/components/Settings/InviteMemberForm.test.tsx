import { fireEvent, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { TeamPublic } from "../../client";
import { renderWithProviders, stubApiFetch } from "../../test/render";
import SetPasswordPage from "../../pages/SignIn/SetPasswordPage";
import InviteMemberForm from "./InviteMemberForm";

const team: TeamPublic = { id: 3, name: "research", role: "owner", created_at: "2026-01-01T00:00:00Z" };

afterEach(() => vi.unstubAllGlobals());

describe("InviteMemberForm", () => {
  it("posts the invite and shows the one-time password once", async () => {
    const fetchMock = stubApiFetch({
      "POST /api/v1/teams/3/invites": {
        status: 201,
        body: { member: { user_id: 9, email: "nia@lab.org", full_name: "Nia", role: "member" }, one_time_password: "otp-123456789" },
      },
    });
    const invited = vi.fn();
    renderWithProviders(<InviteMemberForm team={team} onInvited={invited} />);
    const form = screen.getByRole("form", { name: "Invite someone new" });
    fireEvent.change(within(form).getByLabelText("New person's email"), { target: { value: "nia@lab.org" } });
    fireEvent.change(within(form).getByLabelText("Name"), { target: { value: "Nia" } });
    fireEvent.click(within(form).getByRole("button", { name: "Invite (no account yet)" }));
    const shown = await screen.findByTestId("one-time-password");
    expect(shown).toHaveTextContent("otp-123456789");
    expect(shown).toHaveTextContent("nia@lab.org");
    expect(invited).toHaveBeenCalled();
    const post = fetchMock.mock.calls.map(([r]) => r as Request).find((r) => r.method === "POST");
    expect(await post?.json()).toEqual({ email: "nia@lab.org", full_name: "Nia", role: "member" });
    fireEvent.click(within(shown).getByRole("button", { name: "Done" }));
    expect(screen.queryByTestId("one-time-password")).toBeNull();
  });
});

describe("SetPasswordPage", () => {
  const user = { id: 9, email: "nia@lab.org", full_name: "Nia", is_admin: false, must_change_password: true, teams: [] };

  it("refuses two different new passwords before asking the API", () => {
    const fetchMock = stubApiFetch({});
    renderWithProviders(<SetPasswordPage user={user} />);
    fireEvent.change(screen.getByLabelText(/^New password \(/), { target: { value: "a-long-fresh-phrase" } });
    fireEvent.change(screen.getByLabelText("New password again"), { target: { value: "a-long-fresh-phrasE" } });
    expect(screen.getByText("The two new passwords differ.")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Set password and continue" })).toBeDisabled();
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("shows the API's reason when the new password is refused", async () => {
    stubApiFetch({
      "POST /api/v1/users/me/password": { status: 422, body: { detail: "the new password is too weak: a commonly guessed password" } },
    });
    renderWithProviders(<SetPasswordPage user={user} />);
    fireEvent.change(screen.getByLabelText("One-time password"), { target: { value: "otp-123456789" } });
    fireEvent.change(screen.getByLabelText(/^New password \(/), { target: { value: "password1234" } });
    fireEvent.change(screen.getByLabelText("New password again"), { target: { value: "password1234" } });
    fireEvent.click(screen.getByRole("button", { name: "Set password and continue" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("a commonly guessed password");
  });
});
